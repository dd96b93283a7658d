// A few-second smoke run of the benchmark harness (bench/), so it cannot rot: real peer server
// process, real load-generator process, real fan-out over loopback; then the generator's
// protocol readers against byte streams split at every awkward boundary.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { type AddressInfo, createServer } from 'node:net'
import { test } from 'node:test'
import { SseClient } from '../bench/gen/sse-client.ts'
import { WsClient } from '../bench/gen/ws-client.ts'
import { runScenario } from '../bench/lib/harness.ts'
import { scenarioTable } from '../bench/lib/report.ts'
import { CLUSTER_PEERS, PEERS, SCENARIOS, type Scenario } from '../bench/lib/scenarios.ts'
import { redisSkipReason } from './support/redis.ts'

const fanout = SCENARIOS.find((s) => s.name === 'ws-fanout')!
const tiny: Scenario = {
  ...fanout,
  gen: { kind: 'fanout-max', connections: 50, warmupMs: 200, durationMs: 800, window: 8, rate: 0 },
  peers: [PEERS.ws],
}
// One try per run: a busy machine would otherwise repeat each run up to three times (harness.ts).
const quiet = { reps: 1, quick: false, peers: [], log: () => {}, busyTries: 1 }

test('a short fan-out run against the ws peer delivers every message and yields a well-formed row', async () => {
  const out = await runScenario(tiny, quiet)
  assert.equal(out.error, undefined)
  assert.equal(out.peers.length, 1)
  const row = out.peers[0]!
  assert.equal(row.peer, 'ws')
  assert.equal(row.status, 'ok', row.reason)
  assert.equal(row.okRuns, 1)
  const m = row.median
  assert.equal(m.subscribers, 50)
  assert.ok(m.deliveriesPerSec! > 0, `deliveries/s ${m.deliveriesPerSec}`)
  assert.ok(m.publications! > 0)
  // Every subscriber received every publication, and nothing was lost.
  assert.equal(m.lost, 0)
  assert.equal(m.minPerSub, m.publications)
  assert.equal(m.maxPerSub, m.publications)
  assert.ok(m.cpuUsPerDelivery! >= 0 && Number.isFinite(m.cpuUsPerDelivery))
  assert.ok(m.serverCpuPct! >= 0 && m.genCpuPct! >= 0)

  const table = scenarioTable(out).split('\n')
  const header = table.find((l) => l.startsWith('| peer |'))!
  const line = table.find((l) => l.startsWith('| ws |'))!
  assert.ok(line, 'the table has a ws row')
  assert.equal(
    line.split('|').length,
    header.split('|').length,
    'row and header have as many cells',
  )
  assert.match(line, /\| [\d,]+ \|/) // a formatted number
})

test('a peer whose server cannot start is reported as such, not dropped', async () => {
  const broken = { ...PEERS.ws, name: 'broken', file: 'bench/peers/does-not-exist.ts' }
  const out = await runScenario({ ...tiny, peers: [broken] }, quiet)
  const row = out.peers[0]!
  assert.equal(row.peer, 'broken')
  assert.equal(row.status, 'cannot-start')
  assert.match(row.reason ?? '', /before READY/)
  assert.match(scenarioTable(out), /\| broken \|.*cannot start: /)
})

test("the hub's in-process cost script runs, writes every session once a turn and reports each setting", async () => {
  // bench/hub-cost.ts exits non-zero when a session was not written exactly once per turn.
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'bench/hub-cost.ts', '--subscribers', '200', '--turns', '20', '--json'],
      { cwd: new URL('..', import.meta.url), timeout: 60_000 },
      (err, out, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(out)),
    )
  })
  const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    subscribers: number
    rows: { perTurn: number; hubWarmNs: number; hubColdNs: number; bareWarmNs: number }[]
  }
  assert.equal(report.subscribers, 200)
  assert.deepEqual(
    report.rows.map((r) => r.perTurn),
    [1, 21],
  )
  for (const r of report.rows) {
    for (const v of [r.hubWarmNs, r.hubColdNs, r.bareWarmNs])
      assert.ok(Number.isFinite(v) && v >= 0)
  }
})

// The cluster scenarios: two server processes and a redis-server per run. Under CI=true a missing
// redis-server fails this file (redisSkipReason throws) instead of skipping.
const redisSkip = redisSkipReason()
const cluster = (name: string, gen: Scenario['gen']): Scenario => ({
  ...SCENARIOS.find((s) => s.name === name)!,
  gen,
  peers: [CLUSTER_PEERS.switchboard2, CLUSTER_PEERS.socketio2],
})

test('a short cluster fan-out over two nodes and redis-server delivers everything, splits subscribers and reads every CPU', {
  skip: redisSkip,
}, async () => {
  const out = await runScenario(
    cluster('cluster-fanout', {
      kind: 'fanout-max',
      connections: 50,
      warmupMs: 200,
      durationMs: 800,
      window: 8,
      rate: 0,
    }),
    quiet,
  )
  assert.equal(out.error, undefined)
  for (const row of out.peers) {
    assert.equal(row.status, 'ok', `${row.peer}: ${row.reason}`)
    const m = row.median
    assert.equal(m.lost, 0, row.peer)
    assert.equal(m.minPerSub, m.publications, `${row.peer}: every subscriber got everything`)
    assert.equal(m.node0Subscribers, 25, row.peer)
    assert.equal(m.node1Subscribers, 25, row.peer)
    assert.ok(m.deliveriesPerCpuSec! > 0, row.peer)
    assert.ok(m.node0CpuPct! >= 0 && m.node1CpuPct! >= 0, row.peer)
    assert.ok(m.redisCpuPct! >= 0 && Number.isFinite(m.redisCpuUsPerPublication), row.peer)
  }
  // The one Switchboard row is the subject: it has a ratio against the Socket.IO cluster.
  const ratio = out.ratios['switchboard 2 nodes + redis']?.deliveriesPerCpuSec
  assert.ok((ratio?.['socket.io 2 nodes + redis'] ?? 0) > 0)
  const table = scenarioTable(out).split('\n')
  const header = table.find((l) => l.startsWith('| peer |'))!
  const line = table.find((l) => l.startsWith('| switchboard 2 nodes + redis |'))!
  assert.equal(line.split('|').length, header.split('|').length)
})

test('a short cluster latency run reports latency on the publishing node and on the other one', {
  skip: redisSkip,
}, async () => {
  const out = await runScenario(
    {
      ...cluster('cluster-latency', {
        kind: 'fanout-rate',
        connections: 50,
        warmupMs: 200,
        durationMs: 1000,
        window: 0,
        rate: 1000,
      }),
      peers: [CLUSTER_PEERS.switchboard2],
    },
    quiet,
  )
  const row = out.peers[0]!
  assert.equal(row.status, 'ok', row.reason)
  const m = row.median
  assert.equal(m.lost, 0)
  for (const k of ['pubNodeP50Ms', 'pubNodeP99Ms', 'otherNodeP50Ms', 'otherNodeP99Ms'])
    assert.ok(m[k]! > 0 && m[k]! < 1000, `${k} = ${m[k]}`)
})

// The generator's readers, fed by a raw server that splits every byte stream into 5-byte writes.

async function serveSplit(
  response: Buffer,
  onClientBytes: (b: Buffer) => void = () => {},
  piece = 5,
): Promise<{ port: number; close: () => void }> {
  const server = createServer((socket) => {
    let sent = false
    socket.on('data', (b) => {
      onClientBytes(b)
      if (sent) return
      sent = true
      let off = 0
      const next = () => {
        if (off >= response.length || socket.destroyed) return
        socket.write(response.subarray(off, off + piece))
        off += piece
        setTimeout(next, 1)
      }
      next()
    })
    socket.on('error', () => {})
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { port: (server.address() as AddressInfo).port, close: () => server.close() }
}

function sink<T>(expected: number, done: () => void) {
  return {
    delivered: 0,
    wantPayload: false,
    onOpen: (_c: T) => {},
    onMessage: () => {},
    onClose: () => {},
    onData() {
      if (this.delivered >= expected) done()
    },
  }
}

const chunked = (parts: string[]) =>
  Buffer.from(
    `${parts.map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`).join('')}0\r\n\r\n`,
  )

test('the SSE reader counts events split across reads and chunks and skips comment-only blocks', async () => {
  const head =
    'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n'
  const body = chunked([
    ': padding\n\n',
    'data: a\n',
    '\ndata: b\n\nda',
    'ta: c\n\n',
    ':\ndata: d\n\n',
    ': heartbeat\n\n',
  ])
  for (const piece of [1, 3, 5, 8]) {
    const srv = await serveSplit(Buffer.concat([Buffer.from(head), body]), undefined, piece)
    let finish = () => {}
    const done = new Promise<void>((r) => {
      finish = r
    })
    const s = sink<SseClient>(4, () => finish())
    const client = new SseClient(srv.port, '/sse', s)
    await Promise.race([done, new Promise((r) => setTimeout(r, 2000))])
    await new Promise((r) => setTimeout(r, 30)) // let the trailing heartbeat arrive
    client.destroy()
    srv.close()
    assert.equal(s.delivered, 4, `split into ${piece}-byte writes`)
  }
})

test('the SSE reader in marker mode counts payloads, not events', async () => {
  const head = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 999\r\n\r\n'
  const body = 'id: 1\ndata: {"type":"subscribe"}\n\ndata: {"data":"~1"}\n\ndata: ["~2","~3"]\n\n'
  const srv = await serveSplit(Buffer.from(head + body))
  let finish = () => {}
  const done = new Promise<void>((r) => {
    finish = r
  })
  const s = sink<SseClient>(3, () => finish())
  const client = new SseClient(srv.port, '/channel', s, true)
  await Promise.race([done, new Promise((r) => setTimeout(r, 2000))])
  client.destroy()
  srv.close()
  assert.equal(s.delivered, 3)
})

test('the WebSocket reader counts frames split across reads and answers a ping with a masked pong', async () => {
  const frame = (op: number, payload: Buffer) => {
    const n = payload.length
    const hdr =
      n < 126 ? Buffer.from([0x80 | op, n]) : Buffer.from([0x80 | op, 126, n >> 8, n & 255])
    return Buffer.concat([hdr, payload])
  }
  const head =
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n'
  const response = Buffer.concat([
    Buffer.from(head),
    frame(0x1, Buffer.from('hello')),
    frame(0x9, Buffer.from('pp')),
    frame(0x2, Buffer.alloc(300, 7)),
    frame(0x1, Buffer.from('bye')),
  ])
  const fromClient: Buffer[] = []
  const srv = await serveSplit(response, (b) => fromClient.push(b))
  let finish = () => {}
  const done = new Promise<void>((r) => {
    finish = r
  })
  const s = sink<WsClient>(3, () => finish())
  const client = new WsClient(srv.port, '/ws', 'ws', s)
  await Promise.race([done, new Promise((r) => setTimeout(r, 2000))])
  await new Promise((r) => setTimeout(r, 20))
  client.destroy()
  srv.close()
  assert.equal(s.delivered, 3)
  const bytes = Buffer.concat(fromClient)
  const at = bytes.indexOf(0x8a) // FIN + pong
  assert.ok(at > 0, 'a pong frame was sent')
  assert.equal(bytes[at + 1], 0x80 | 2, 'masked, two-byte payload')
  const mask = bytes.subarray(at + 2, at + 6)
  const payload = Buffer.from([bytes[at + 6]! ^ mask[0]!, bytes[at + 7]! ^ mask[1]!])
  assert.equal(payload.toString(), 'pp')
})
