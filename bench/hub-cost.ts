// What the hub's own JavaScript costs per subscriber per write window, measured in one process
// without sockets, so that the kernel's share (most of a real delivery) and other work on the
// machine leave it alone. The socket benchmarks (`ws-floor`, `ws-fanout`) move by 10-15 % from
// one repetition to the next on a shared host, which hides a change of a few hundred
// nanoseconds per delivery; this does not.
//   node --import tsx bench/hub-cost.ts [--subscribers 5000] [--turns 300] [--per-turn 1,21] [--json]
// Each subscriber is a hub session on a WebSocket transport whose connection takes every write
// at once (as a socket with room does) and counts it. A turn publishes `per-turn` publications
// to the channel every session is on and waits for the write window to close. Per setting it
// prints the median wall time of a turn divided by the subscribers, with the caches warm (turns
// back to back) and cold (64 MiB read between turns, which empties the core's L1 and L2 as a
// real server's kernel work does), and the same for a bare loop that makes one write call per
// connection: the least any server does per socket. It fails if a session was not written
// exactly once per turn.
import assert from 'node:assert/strict'
import { parseArgs } from 'node:util'
import { Hub } from '../src/hub/hub.ts'
import { AcceptingWs, preparedJsonFormat } from '../src/hub/test-utils/accepting.ts'
import { WsTransport } from '../src/hub/ws-transport.ts'

const { values } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '5000' },
    turns: { type: 'string', default: '300' },
    'per-turn': { type: 'string', default: '1,21' },
    json: { type: 'boolean', default: false },
  },
})
function count(name: string, text: string): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--${name} takes a positive integer, not ${text}`)
  return n
}
const SUBSCRIBERS = count('subscribers', values.subscribers)
const TURNS = count('turns', values.turns)
const PER_TURN = values['per-turn'].split(',').map((t) => count('per-turn', t))
const PAYLOAD = 'x'.repeat(64)

const windowClosed = () => new Promise((resolve) => setImmediate(resolve))
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!

// Read between turns to empty the core's caches (the last level is shared and far larger). The
// sum is kept in a module variable so that the reads cannot be left out.
const evictor = new Float64Array((64 * 1024 * 1024) / 8)
let _evicted = 0
function evict(): void {
  for (let i = 0; i < evictor.length; i += 8) _evicted += evictor[i]!
}

const hub = new Hub({ namespaces: { feed: { historySize: 100 } } })
const conns: AcceptingWs[] = []
// A real server holds the socket, its handle and the connection object between one session and
// the next; about 1 KB of other objects per session spreads the sessions over the heap alike.
const between: unknown[] = []
for (let i = 0; i < SUBSCRIBERS; i++) {
  const ws = new AcceptingWs()
  conns.push(ws)
  const session = hub.connect(new WsTransport(ws, preparedJsonFormat))
  session.receive('{"id":1,"type":"connect"}')
  session.receive('{"id":2,"type":"subscribe","channel":"feed:all"}')
  between.push(new Array(120).fill(i))
}
await windowClosed()
await windowClosed()

async function hubTurn(perTurn: number): Promise<number> {
  const start = process.hrtime.bigint()
  const published: Promise<unknown>[] = []
  for (let k = 0; k < perTurn; k++) published.push(hub.publish('feed:all', PAYLOAD))
  await Promise.all(published)
  await windowClosed()
  return Number(process.hrtime.bigint() - start)
}

async function bareTurn(): Promise<number> {
  const start = process.hrtime.bigint()
  for (let i = 0; i < conns.length; i++) conns[i]!.writePrepared()
  await windowClosed()
  return Number(process.hrtime.bigint() - start)
}

interface Row {
  perTurn: number
  hubWarmNs: number
  hubColdNs: number
  bareWarmNs: number
  bareColdNs: number
}

async function measure(turn: () => Promise<number>): Promise<{ warm: number; cold: number }> {
  for (let i = 0; i < 100; i++) await turn() // the optimizing compiler
  const warm: number[] = []
  const cold: number[] = []
  for (let i = 0; i < TURNS; i++) {
    evict()
    cold.push(await turn())
    warm.push(await turn())
  }
  return { warm: median(warm) / SUBSCRIBERS, cold: median(cold) / SUBSCRIBERS }
}

const rows: Row[] = []
for (const perTurn of PER_TURN) {
  const before = conns[0]!.writes
  const hubCost = await measure(() => hubTurn(perTurn))
  const turns = conns[0]!.writes - before
  assert.equal(turns, 100 + 2 * TURNS, 'one write per session per turn')
  for (const c of conns) assert.equal(c.writes, conns[0]!.writes, 'every session written alike')
  const bareCost = await measure(bareTurn)
  rows.push({
    perTurn,
    hubWarmNs: Math.round(hubCost.warm),
    hubColdNs: Math.round(hubCost.cold),
    bareWarmNs: Math.round(bareCost.warm),
    bareColdNs: Math.round(bareCost.cold),
  })
}
await hub.close()

if (values.json) {
  console.log(JSON.stringify({ subscribers: SUBSCRIBERS, turns: TURNS, rows }))
} else {
  console.log(`${SUBSCRIBERS} subscribers, ${TURNS} turns each way; ns per subscriber per turn`)
  console.log(
    '| publications per turn | hub, warm | hub, cold | bare loop, warm | bare loop, cold |',
  )
  console.log('|---|---|---|---|---|')
  for (const r of rows) {
    console.log(
      `| ${r.perTurn} | ${r.hubWarmNs} | ${r.hubColdNs} | ${r.bareWarmNs} | ${r.bareColdNs} |`,
    )
  }
}
