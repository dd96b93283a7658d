// The load generator: a separate process so its CPU is measured apart from the server's.
// Usage (normally started by bench/run.ts): node --import tsx bench/gen/main.ts '<GenConfig JSON>'
// Prints exactly one line `RESULT <GenResult JSON>` on stdout and exits.
import { rssBytes } from '../lib/proc.ts'
import { Samples } from '../lib/stats.ts'
import type { GenConfig, GenResult, Metrics } from '../lib/types.ts'
import { buildRequest, HttpConn, type HttpSink } from './http-client.ts'
import { makePayload, nowUs, readStampUs } from './payload.ts'
import { rooms } from './rooms.ts'
import { type Conn, Run, requireOpen, serverGc, sleep } from './run-sink.ts'
import { SseClient } from './sse-client.ts'
import { Window } from './window.ts'
import { BENCH_CHANNEL, clientFrame, WsClient } from './ws-client.ts'

function newSubscriber(cfg: GenConfig, run: Run, port = cfg.port): Conn {
  if (cfg.transport === 'sse') return new SseClient(port, '/sse', run)
  if (cfg.transport === 'channel-sse')
    return new SseClient(port, `/channel?channel=${BENCH_CHANNEL}`, run, true)
  if (cfg.transport === 'channel-ws') return new WsClient(port, '/ws', 'channel', run)
  if (cfg.transport === 'socketio')
    return new WsClient(port, '/socket.io/?EIO=4&transport=websocket', 'socketio', run)
  return new WsClient(port, '/ws', 'ws', run)
}

/** The server nodes of a run: `cfg.nodes`, or the one node `cfg.port`. */
function nodesOf(cfg: GenConfig): { port: number; pid: number }[] {
  return cfg.nodes ?? [{ port: cfg.port, pid: cfg.serverPid }]
}

/**
 * The commits a durable server has made so far (`GET /__commits` on its own connection), or NaN
 * for a server without a durable broker. Read just before and after a measured window.
 */
async function serverCommits(cfg: GenConfig): Promise<number> {
  if (cfg.durableDir === undefined) return Number.NaN
  let text = ''
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 3000)
    const sink: HttpSink = {
      onOpen: (c) => c.send(buildRequest('GET', '/__commits', cfg.port)),
      onResponse: (c) => {
        text = c.lastBody
        c.destroy()
        clearTimeout(timer)
        resolve()
      },
      onClose: () => resolve(),
    }
    new HttpConn(cfg.port, sink).keepBody = true
  })
  return text === '' ? Number.NaN : Number(text)
}

/**
 * Idle memory: the RSS difference between two steady states, before connecting and with every
 * connection open, each read after a full GC and `settleMs` of quiet. The settle matters: right
 * after a burst of handshakes V8 and malloc still hold the garbage they made (Node's heap shrinks
 * back some 8-10 s later), and a freshly started server holds its start-up garbage the same way.
 * The reading 2 s after the last connection opened is reported beside it (`bytesPerConnAt2s`).
 * Node peers also answer each GC with their V8 heap in use, so the heap per connection is
 * reported the same two ways (`heapBytesPerConn`, `heapBytesPerConnAt2s`).
 */
async function idle(cfg: GenConfig, run: Run): Promise<GenResult> {
  await serverGc(cfg.port)
  await sleep(cfg.settleMs)
  const heapBefore = await serverGc(cfg.port)
  const before = rssBytes(cfg.serverPid)
  const connectSec = await run.openAll(cfg.connections, () => newSubscriber(cfg, run))
  const err = requireOpen(run, cfg.connections)
  if (err) return { ok: false, error: err, metrics: {}, notes: [] }
  const early = Math.min(2000, cfg.settleMs)
  await sleep(early)
  const heapAt2s = await serverGc(cfg.port)
  const at2s = rssBytes(cfg.serverPid)
  await sleep(cfg.settleMs - early)
  const heapAfter = await serverGc(cfg.port)
  const after = rssBytes(cfg.serverPid)
  const alive = run.opened - run.dropped
  return {
    ok: alive === cfg.connections,
    error: alive === cfg.connections ? undefined : `${run.dropped} connections dropped while idle`,
    metrics: {
      connections: alive,
      rssBeforeMB: Math.round(before / 2 ** 20),
      rssAfterMB: Math.round(after / 2 ** 20),
      bytesPerConn: Math.round((after - before) / alive),
      bytesPerConnAt2s: Math.round((at2s - before) / alive),
      heapBytesPerConn: Math.round((heapAfter - heapBefore) / alive),
      heapBytesPerConnAt2s: Math.round((heapAt2s - heapBefore) / alive),
      connectPerSec: Math.round(cfg.connections / connectSec),
    },
    notes: [],
  }
}

function publishRequest(cfg: GenConfig, seq: number): Buffer {
  return buildRequest('POST', '/pub', cfg.port, makePayload(seq, cfg.payloadBytes))
}

async function fanout(cfg: GenConfig, run: Run): Promise<GenResult> {
  const n = cfg.connections
  // Subscribers alternate between the nodes (half each on two); the publisher posts to node 0.
  const nodes = nodesOf(cfg)
  let opened = 0
  await run.openAll(n, () => {
    const node = opened++ % nodes.length
    const c = newSubscriber(cfg, run, nodes[node]!.port)
    c.node = node
    return c
  })
  const err = requireOpen(run, n)
  if (err) return { ok: false, error: err, metrics: {}, notes: [] }
  // The publisher: one keep-alive connection; publications may be pipelined.
  let pubOpen: () => void = () => {}
  const pubReady = new Promise<void>((r) => {
    pubOpen = r
  })
  let bad = 0
  const pubSink: HttpSink = {
    onOpen: () => pubOpen(),
    onResponse: (_c, status) => {
      if (status < 200 || status > 299) bad++
    },
    onClose: () => {},
  }
  const pub = new HttpConn(cfg.port, pubSink)
  await pubReady
  let published = 0
  let stopped = false
  const latency = new Samples()
  // Latency apart for subscribers of the publishing node (0) and of the others.
  const pubNodeLatency = new Samples()
  const otherNodeLatency = new Samples()
  const win = new Window(
    nodes.map((x) => x.pid),
    cfg.redisPid,
  )
  let measuring = false
  let d0 = 0
  let p0 = 0
  let a0 = 0
  if (cfg.kind === 'fanout-max') {
    const limit = cfg.window * n
    const pump = () => {
      while (!stopped && published * n - run.delivered < limit) {
        pub.send(publishRequest(cfg, published++))
      }
    }
    run.dataHook = pump
    pump()
  } else {
    run.wantPayload = true
    run.messageHook = (c, buf, start, end) => {
      if (!measuring) return
      const t = readStampUs(buf, start, end)
      if (t <= 0) return
      const ms = (nowUs() - t) / 1000
      latency.add(ms)
      if (nodes.length > 1) (c.node === 0 ? pubNodeLatency : otherNodeLatency).add(ms)
    }
    const pubPerSec = cfg.rate / n
    const t0 = performance.now()
    const timer = setInterval(() => {
      if (stopped) return clearInterval(timer)
      const due = Math.floor(((performance.now() - t0) / 1000) * pubPerSec) + 1
      while (published < due) pub.send(publishRequest(cfg, published++))
    }, 2)
  }
  await sleep(cfg.warmupMs)
  const c0 = await serverCommits(cfg)
  win.start()
  d0 = run.delivered
  p0 = published
  a0 = pub.responses
  measuring = true
  // Stall watch: a fan-out that stops delivering for 3 s ends the run instead of hanging it.
  let last = run.delivered
  let lastProgress = Date.now()
  let stalled = false
  let stallInfo = ''
  const end = Date.now() + cfg.durationMs
  while (Date.now() < end) {
    await sleep(Math.min(250, end - Date.now()))
    if (run.delivered !== last) {
      last = run.delivered
      lastProgress = Date.now()
    } else if (cfg.kind === 'fanout-max' && Date.now() - lastProgress >= 3000) {
      stalled = true
      stallInfo = `published ${published}, delivered ${run.delivered} of ${published * n}, ${pub.pending} unanswered, ${pub.responses} answered`
      break
    }
  }
  win.stop()
  win.commits = (await serverCommits(cfg)) - c0
  measuring = false
  const delivered = run.delivered - d0
  const publishedInWindow = published - p0
  const answeredInWindow = pub.responses - a0
  stopped = true
  // Drain: wait (bounded) for every publication to reach every subscriber, then count losses.
  const drainEnd = Date.now() + 8000
  while (run.delivered < published * n && Date.now() < drainEnd) await sleep(50)
  let min = Number.POSITIVE_INFINITY
  let max = 0
  for (const c of run.conns) {
    if (c instanceof HttpConn) continue
    if (c.messages < min) min = c.messages
    if (c.messages > max) max = c.messages
  }
  const metrics: Metrics = {
    subscribers: n,
    publications: published,
    deliveriesPerSec: Math.round(delivered / win.sec),
    cpuUsPerDelivery: Math.round((win.serverUs / delivered) * 1000) / 1000,
    deliveriesPerCpuSec: Math.round(delivered / (win.serverUs / 1e6)),
    deliveriesPerWrite: Math.round((delivered / win.writes) * 10) / 10,
    publishesPerSec: Math.round(answeredInWindow / win.sec),
    ...win.metrics(),
    ...perCommit(win, answeredInWindow),
    lost: published * n - run.delivered,
    minPerSub: min,
    maxPerSub: max,
    droppedConns: run.dropped,
    badPublishes: bad,
    // Publications the server had not answered when the run ended (a stuck publisher shows here).
    unansweredPublishes: pub.pending,
  }
  if (cfg.kind === 'fanout-rate') {
    metrics.p50Ms = Math.round(latency.percentile(50) * 100) / 100
    metrics.p99Ms = Math.round(latency.percentile(99) * 100) / 100
    metrics.maxMs = Math.round(latency.percentile(100) * 100) / 100
    if (nodes.length > 1) {
      metrics.pubNodeP50Ms = Math.round(pubNodeLatency.percentile(50) * 100) / 100
      metrics.pubNodeP99Ms = Math.round(pubNodeLatency.percentile(99) * 100) / 100
      metrics.otherNodeP50Ms = Math.round(otherNodeLatency.percentile(50) * 100) / 100
      metrics.otherNodeP99Ms = Math.round(otherNodeLatency.percentile(99) * 100) / 100
    }
  }
  if (cfg.redisPid !== undefined && publishedInWindow > 0)
    metrics.redisCpuUsPerPublication = Math.round((win.redisUs / publishedInWindow) * 10) / 10
  if (nodes.length > 1) {
    // How the subscribers were spread, so a table can show it was half and half.
    for (let i = 0; i < nodes.length; i++)
      metrics[`node${i}Subscribers`] = run.conns.filter(
        (c) => c.node === i && !(c instanceof HttpConn),
      ).length
  }
  const notes: string[] = []
  if (stalled) notes.push(`stalled: no delivery for 3 s (${stallInfo})`)
  if (metrics.lost! > 0) notes.push(`${metrics.lost} deliveries missing after drain`)
  return {
    ok: delivered > 0 && !stalled,
    error: delivered > 0 ? (stalled ? 'stalled' : undefined) : 'no deliveries',
    metrics,
    notes,
  }
}

/** Publications answered per commit of a durable server's journal (nothing without one). */
function perCommit(win: Window, answered: number): Metrics {
  return win.commits > 0
    ? { publishesPerCommit: Math.round((answered / win.commits) * 10) / 10 }
    : {}
}

/**
 * Publish throughput: `publishers` keep-alive connections, each with one POST /pub in flight
 * (the next one sent when the answer arrives), to a few subscribers. What is measured is what the
 * server acknowledges: answers per second and the time from a POST to its answer; the
 * subscribers check that every acknowledged publication is delivered.
 */
async function publish(cfg: GenConfig, run: Run): Promise<GenResult> {
  const n = cfg.connections
  const publishers = cfg.publishers ?? 1
  await run.openAll(n, () => newSubscriber(cfg, run))
  let err = requireOpen(run, n)
  if (err) return { ok: false, error: err, metrics: {}, notes: [] }
  const ack = new Samples()
  let measuring = false
  let stopped = false
  let published = 0
  let answered = 0
  let bad = 0
  run.responseHook = (c, status) => {
    const now = performance.now()
    if (measuring) {
      ack.add(now - c.mark)
      answered++
    }
    if (status < 200 || status > 299) bad++
    if (stopped) return
    c.mark = now
    c.send(publishRequest(cfg, published++))
  }
  await run.openAll(publishers, () => new HttpConn(cfg.port, run))
  err = requireOpen(run, n + publishers)
  if (err) return { ok: false, error: err, metrics: {}, notes: [] }
  const pubs = run.conns.filter((c) => c instanceof HttpConn)
  for (const c of pubs) {
    c.mark = performance.now()
    c.send(publishRequest(cfg, published++))
  }
  await sleep(cfg.warmupMs)
  const win = new Window([cfg.serverPid])
  const c0 = await serverCommits(cfg)
  const d0 = run.delivered
  win.start()
  measuring = true
  await sleep(cfg.durationMs)
  win.stop()
  win.commits = (await serverCommits(cfg)) - c0
  measuring = false
  stopped = true
  const delivered = run.delivered - d0
  // Drain: every publication sent is answered and delivered to every subscriber, or lost.
  const drainEnd = Date.now() + 8000
  while (
    (run.delivered < published * n || pubs.some((c) => c.pending > 0)) &&
    Date.now() < drainEnd
  )
    await sleep(50)
  const lost = published * n - run.delivered
  const notes: string[] = []
  if (lost > 0) notes.push(`${lost} deliveries missing after drain`)
  if (bad > 0) notes.push(`${bad} publishes answered with a non-2xx status`)
  return {
    ok: answered > 0 && bad === 0,
    error: answered === 0 ? 'no publish answered' : bad > 0 ? `${bad} non-2xx` : undefined,
    metrics: {
      subscribers: n,
      publishers,
      publishesPerSec: Math.round(answered / win.sec),
      cpuUsPerPublish: Math.round((win.serverUs / answered) * 100) / 100,
      ackP50Ms: Math.round(ack.percentile(50) * 1000) / 1000,
      ackP99Ms: Math.round(ack.percentile(99) * 1000) / 1000,
      deliveriesPerSec: Math.round(delivered / win.sec),
      ...win.metrics(),
      ...perCommit(win, answered),
      lost,
      droppedConns: run.dropped,
      unansweredPublishes: pubs.reduce((sum, c) => sum + c.pending, 0),
    },
    notes,
  }
}

async function echo(cfg: GenConfig, run: Run): Promise<GenResult> {
  const payload = makePayload(0, cfg.payloadBytes)
  const body = cfg.transport === 'socketio' ? `42["echo","${payload}"]` : payload
  await run.openAll(cfg.connections, () => newSubscriber(cfg, run))
  const err = requireOpen(run, cfg.connections)
  if (err) return { ok: false, error: err, metrics: {}, notes: [] }
  const rtt = new Samples()
  let measuring = false
  let stopped = false
  run.wantPayload = true
  run.messageHook = (c) => {
    const ws = c as WsClient
    const now = performance.now()
    if (measuring) rtt.add(now - ws.mark)
    if (stopped) return
    ws.mark = now
    ws.send(ws.frame!)
  }
  for (const c of run.conns) {
    const ws = c as WsClient
    ws.frame = clientFrame(Buffer.from(body))
    ws.mark = performance.now()
    ws.send(ws.frame)
  }
  await sleep(cfg.warmupMs)
  const win = new Window([cfg.serverPid])
  const d0 = run.delivered
  win.start()
  measuring = true
  await sleep(cfg.durationMs)
  win.stop()
  measuring = false
  stopped = true
  const trips = run.delivered - d0
  return {
    ok: trips > 0,
    error: trips > 0 ? undefined : 'no round trips',
    metrics: {
      connections: cfg.connections,
      roundTripsPerSec: Math.round(trips / win.sec),
      cpuUsPerRoundTrip: Math.round((win.serverUs / trips) * 1000) / 1000,
      ...win.metrics(),
      p50Ms: Math.round(rtt.percentile(50) * 1000) / 1000,
      p99Ms: Math.round(rtt.percentile(99) * 1000) / 1000,
      droppedConns: run.dropped,
    },
    notes: [],
  }
}

async function http(cfg: GenConfig, run: Run): Promise<GenResult> {
  const req = buildRequest('GET', '/', cfg.port)
  const lat = new Samples()
  let measuring = false
  let stopped = false
  let ok = 0
  let non2xx = 0
  let count = 0
  run.responseHook = (c, status) => {
    const now = performance.now()
    if (measuring) {
      lat.add(now - c.mark)
      count++
      if (status >= 200 && status < 300) ok++
      else non2xx++
    }
    if (stopped) return
    c.mark = now
    c.send(req)
  }
  await run.openAll(cfg.connections, () => new HttpConn(cfg.port, run))
  const err = requireOpen(run, cfg.connections)
  if (err) return { ok: false, error: err, metrics: {}, notes: [] }
  for (const c of run.conns) {
    const h = c as HttpConn
    h.mark = performance.now()
    h.send(req)
  }
  await sleep(cfg.warmupMs)
  const win = new Window([cfg.serverPid])
  win.start()
  measuring = true
  await sleep(cfg.durationMs)
  win.stop()
  measuring = false
  stopped = true
  return {
    ok: ok > 0 && non2xx === 0,
    error: ok === 0 ? 'no successful responses' : non2xx > 0 ? `${non2xx} non-2xx` : undefined,
    metrics: {
      connections: cfg.connections,
      reqPerSec: Math.round(count / win.sec),
      cpuUsPerRequest: Math.round((win.serverUs / count) * 1000) / 1000,
      ...win.metrics(),
      p50Ms: Math.round(lat.percentile(50) * 1000) / 1000,
      p99Ms: Math.round(lat.percentile(99) * 1000) / 1000,
      non2xx,
      droppedConns: run.dropped,
    },
    notes: [],
  }
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '') as GenConfig
  const run = new Run(cfg)
  let result: GenResult
  try {
    if (cfg.kind === 'idle') result = await idle(cfg, run)
    else if (cfg.kind === 'echo') result = await echo(cfg, run)
    else if (cfg.kind === 'http') result = await http(cfg, run)
    else if (cfg.kind === 'publish-max') result = await publish(cfg, run)
    else if (cfg.kind === 'rooms') result = await rooms(cfg, run)
    else result = await fanout(cfg, run)
  } catch (err) {
    result = { ok: false, error: (err as Error).stack ?? String(err), metrics: {}, notes: [] }
  }
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`, () => process.exit(0))
}

void main()
