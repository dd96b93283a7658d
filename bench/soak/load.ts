// The soak's load generator (a child of bench/soak/run.ts, talking to it over IPC): opens the
// subscribers (WebSocket and SSE mixed, one channel each), publishes at a steady rate through
// one WebSocket publisher, churns connections, and reports every second. At the end it stops
// publishing, waits for the last deliveries and counts every live client's missing tail.
// Usage: node --import tsx bench/soak/load.ts '<LoadConfig JSON>'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { type SoakClient, type SoakSink, SoakSse, SoakWs } from './clients.ts'
import type { LoadConfig, LoadFinal, LoadSample, ToLoad } from './types.ts'

const cfg = JSON.parse(process.argv[2]!) as LoadConfig
const send = (m: unknown) => process.send?.(m)
const nowMs = () => performance.timeOrigin + performance.now()

const live = new Set<SoakClient>()
let seq = 0
/** Per-second counters, reset at each sample. */
let delivered = 0
let latencies: number[] = []
/** Totals of clients that ended (churned, or closed by the server). */
const ended = { clients: 0, lost: 0, behind: 0, lostBehind: 0, byServer: 0 }
let opened = 0
let failedOpens = 0
const reasons = new Map<string, number>()
/** Highest offset the publisher got back per channel. */
const top = new Map<string, number>()
let published = 0
let publishErrors = 0
let inflight = 0

const sink: SoakSink = {
  onOpen(c) {
    if (c !== publisher) opened++
  },
  onClose(c, reason) {
    if (c === publisher) {
      console.error(`soak load: the publisher was closed (${reason})`)
      publisher = null
      return
    }
    if (!c.open) {
      live.delete(c)
      failedOpens++
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1)
      // A refused connection tries again, as a real client would (a burst of connects can
      // overflow the listen queue of a busy server: the kernel resets what does not fit).
      if (!finishing) setTimeout(openOne, 200 + Math.random() * 800)
      return
    }
    retire(c)
    ended.byServer++
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1)
  },
  onPublication(_c, _offset, sentMs) {
    delivered++
    if (sentMs > 0 && (delivered & 7) === 0) latencies.push(nowMs() - sentMs)
  },
  onReply(_c, text) {
    inflight--
    const m = /"id":\d+,"result":\{"offset":(\d+)/.exec(text)
    const ch = /"id":(\d+)/.exec(text)
    if (!m || !ch) {
      publishErrors++
      return
    }
    const channel = channelOfId.get(Number(ch[1]))
    channelOfId.delete(Number(ch[1]))
    if (channel !== undefined) top.set(channel, Math.max(top.get(channel) ?? 0, Number(m[1])))
    published++
  },
}

/** Moves an ended client's figures into the totals (once). */
function retire(c: SoakClient): void {
  if (!live.delete(c)) return
  ended.clients++
  if (c.behind) {
    ended.behind++
    ended.lostBehind += c.lost
  } else ended.lost += c.lost
}

const channelOfId = new Map<number, string>()
const channel = (i: number) => `soak:c${i % cfg.channels}`
let nextClient = 0

function openOne(): void {
  const i = nextClient++
  // Every `1 / sseShare`-th client reads SSE; the rest WebSocket.
  const sse = cfg.sseShare > 0 && Math.floor((i + 1) * cfg.sseShare) > Math.floor(i * cfg.sseShare)
  const c = sse
    ? new SoakSse(cfg.port, channel(i), sink)
    : new SoakWs(cfg.port, channel(i), sink, false)
  live.add(c)
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

async function rampUp(): Promise<void> {
  let pending = 0
  for (let i = 0; i < cfg.connections; i++) {
    openOne()
    pending++
    if (pending >= cfg.connectBatch) {
      pending = 0
      await sleep(cfg.connectPauseMs)
    }
  }
  const t0 = Date.now()
  const openNow = () => {
    let n = 0
    for (const c of live) if (c.open) n++
    return n
  }
  while (openNow() < cfg.connections && Date.now() - t0 < 120_000) await sleep(100)
}

let publisher: SoakWs | null = null
let publishing = false
let pubTimer: NodeJS.Timeout | null = null

async function startPublisher(): Promise<void> {
  const p = new SoakWs(cfg.port, 'soak:publisher', sink, true)
  publisher = p
  while (!p.open && !p.closed) await sleep(10)
  if (p.closed) throw new Error('the publisher could not connect')
  live.delete(p) // the publisher is not a subscriber: never churned, never counted
  publishing = true
  const pad = 'x'.repeat(Math.max(0, cfg.payloadBytes - 30))
  let id = 1
  let due = 0
  let last = performance.now()
  // A 10 ms tick publishes what the rate owes so far: steady, without a timer per message.
  pubTimer = setInterval(() => {
    const now = performance.now()
    due += ((now - last) * cfg.rate) / 1000
    last = now
    if (!publishing || publisher === null) return
    while (due >= 1) {
      due--
      if (inflight >= 60) continue // the session's maxInflight is 64: skip rather than be refused
      id = id >= 0x7ffffff0 ? 2 : id + 1
      const ch = channel(seq++)
      channelOfId.set(id, ch)
      inflight++
      publisher.send(
        `{"id":${id},"type":"publish","channel":"${ch}","data":{"t":${nowMs().toFixed(3)},"p":"${pad}"}}`,
      )
    }
  }, 10)
}

function churn(n: number): void {
  const victims: SoakClient[] = []
  for (const c of live) {
    if (victims.length >= n) break
    if (c.open) victims.push(c)
  }
  for (const c of victims) {
    retire(c)
    c.leave(Math.random() < 0.5) // half say goodbye, half just vanish
    openOne()
  }
}

function percentile(a: number[], p: number): number {
  if (a.length === 0) return Number.NaN
  a.sort((x, y) => x - y)
  return a[Math.min(a.length - 1, Math.floor(a.length * p))]!
}

const eld = monitorEventLoopDelay({ resolution: 10 })
eld.enable()

function sample(): LoadSample {
  let open = 0
  let lostLive = 0
  let behindLive = 0
  for (const c of live) {
    if (c.open) open++
    if (c.behind) behindLive++
    else lostLive += c.lost
  }
  const s: LoadSample = {
    t: Date.now(),
    open,
    opening: live.size - open,
    delivered,
    latencyP50: percentile(latencies, 0.5),
    latencyP99: percentile(latencies, 0.99),
    published,
    publishErrors,
    lostNeverBehind: ended.lost + lostLive,
    behind: ended.behind + behindLive,
    closedByServer: ended.byServer,
    failedOpens,
    genEldP99: eld.percentile(99) / 1e6,
  }
  delivered = 0
  latencies = []
  eld.reset()
  return s
}

let finishing = false

async function finish(): Promise<void> {
  finishing = true
  publishing = false
  if (pubTimer) clearInterval(pubTimer)
  const t0 = Date.now()
  while (inflight > 0 && Date.now() - t0 < 5000) await sleep(20)
  await sleep(cfg.drainMs)
  // The tail: a live client that never fell behind must have seen its channel's last offset.
  let tailLost = 0
  let lostNeverBehind = ended.lost
  let clients = ended.clients
  let behind = ended.behind
  for (const c of live) {
    if (!c.open) continue
    clients++
    if (c.behind) {
      behind++
      continue
    }
    const want = top.get(c.channel) ?? 0
    if (c.last < want) tailLost += want - c.last
    lostNeverBehind += c.lost
  }
  const final: LoadFinal = {
    clients,
    behind,
    lostNeverBehind: lostNeverBehind + tailLost,
    tailLost,
    lostBehind: ended.lostBehind,
    published,
    publishErrors,
    closedByServer: ended.byServer,
    failedOpens,
    reasons: Object.fromEntries(reasons),
  }
  for (const c of live) c.leave(false)
  publisher?.leave(false)
  send({ type: 'final', final })
  setTimeout(() => process.exit(0), 200)
}

process.on('message', (m: ToLoad) => {
  if (m.type === 'finish') void finish()
})

try {
  await rampUp()
  await startPublisher()
  send({ type: 'ready', opened, failedOpens, reasons: Object.fromEntries(reasons) })
  setInterval(() => send({ type: 'sample', sample: sample() }), 1000)
  if (cfg.churnPerSec > 0) {
    // Spread the churn over the second: a tenth of it every 100 ms.
    let owed = 0
    setInterval(() => {
      owed += cfg.churnPerSec / 10
      const n = Math.floor(owed)
      owed -= n
      if (n > 0 && publishing) churn(n)
    }, 100)
  }
} catch (err) {
  console.error(`soak load: ${(err as Error).message}`)
  process.exit(1)
}
