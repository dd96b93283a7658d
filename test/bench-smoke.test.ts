// A few-second smoke run of the benchmark harness (bench/), so it cannot rot: real peer server
// process, real load-generator process, real fan-out over loopback.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runScenario } from '../bench/lib/harness.ts'
import { scenarioTable } from '../bench/lib/report.ts'
import { PEERS, SCENARIOS, type Scenario } from '../bench/lib/scenarios.ts'

const fanout = SCENARIOS.find((s) => s.name === 'ws-fanout')!
const tiny: Scenario = {
  ...fanout,
  gen: { kind: 'fanout-max', connections: 50, warmupMs: 200, durationMs: 800, window: 8, rate: 0 },
  peers: [PEERS.ws],
}
const quiet = { reps: 1, quick: false, peers: [], log: () => {} }

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
