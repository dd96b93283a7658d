// Runs one scenario: for each repetition, for each peer (order rotated per repetition so no peer
// always goes first), start a fresh server, run the generator once, stop the server. Then take
// the median of every metric over the successful repetitions.
import { loadAvg1 } from './proc.ts'
import { fdsNeeded, genConfig, type Peer, type Scenario, SUBJECTS } from './scenarios.ts'
import {
  CannotStart,
  ephemeralPorts,
  hardFdLimit,
  runGenerator,
  startPeer,
  stopPeer,
} from './spawn.ts'
import { median } from './stats.ts'
import type { GenConfig, GenResult, Metrics } from './types.ts'

export interface RunOptions {
  reps: number
  quick: boolean
  /** Only these peer names (all when empty). */
  peers: string[]
  log: (line: string) => void
}

export interface PeerOutcome {
  peer: string
  /** ok: at least one good repetition; cannot-start: the server never came up; failed: it did but no run succeeded. */
  status: 'ok' | 'cannot-start' | 'failed'
  reason?: string
  okRuns: number
  median: Metrics
  notes: string[]
  runs: GenResult[]
}

export interface ScenarioOutcome {
  name: string
  title: string
  date: string
  quick: boolean
  reps: number
  /** The machine's 1-minute load average when the scenario started (noise indicator). */
  loadAvg1: number
  /** The generator settings every run of this scenario used (port and pid aside). */
  config: Omit<GenConfig, 'port' | 'serverPid' | 'transport'>
  peers: PeerOutcome[]
  /** ratios[subject][metric][peer] = that Switchboard row's median / that peer's median. */
  ratios: Record<string, Record<string, Record<string, number>>>
  error?: string
}

const round = (x: number) => (Math.abs(x) >= 100 ? Math.round(x) : Math.round(x * 1000) / 1000)

function medianMetrics(runs: GenResult[]): Metrics {
  const keys = new Set(runs.flatMap((r) => Object.keys(r.metrics)))
  const out: Metrics = {}
  for (const k of keys) out[k] = round(median(runs.map((r) => r.metrics[k] ?? Number.NaN)))
  return out
}

/** Why a scenario cannot run on this machine at all, or null. */
export function preflight(connections: number): string | null {
  const need = fdsNeeded(connections)
  const hard = hardFdLimit()
  if (hard < need)
    return `needs ${need} file descriptors per process but the hard limit is ${hard}; raise it (ulimit -Hn) or lower the connection count`
  const ports = ephemeralPorts()
  if (ports < connections + 1000)
    return `needs ${connections} local ports but ip_local_port_range offers ${ports}`
  return null
}

export async function runScenario(s: Scenario, opt: RunOptions): Promise<ScenarioOutcome> {
  const peers = s.peers.filter((p) => opt.peers.length === 0 || opt.peers.includes(p.name))
  const probe = genConfig(s, peers[0] ?? s.peers[0]!, 0, 0, { quick: opt.quick })
  const { port: _port, serverPid: _pid, transport: _t, ...config } = probe
  const outcome: ScenarioOutcome = {
    name: s.name,
    title: s.title,
    date: new Date().toISOString(),
    quick: opt.quick,
    reps: opt.reps,
    loadAvg1: loadAvg1(),
    config,
    peers: [],
    ratios: {},
  }
  const fds = fdsNeeded(probe.connections)
  const blocked = preflight(probe.connections)
  const byPeer = new Map<Peer, { runs: GenResult[]; startErr?: string; notes: string[] }>()
  for (const p of peers) byPeer.set(p, { runs: [], notes: [] })
  if (blocked) {
    outcome.error = blocked
    opt.log(`[${s.name}] cannot run: ${blocked}`)
  } else {
    const limitMs = Math.min(60_000, probe.warmupMs + probe.durationMs + 45_000)
    for (let rep = 0; rep < opt.reps; rep++) {
      const order = peers.map((_, i) => peers[(i + rep) % peers.length]!)
      for (const p of order) {
        const rec = byPeer.get(p)!
        if (rec.startErr) continue // a peer that cannot start will not start on the next try either
        let started: Awaited<ReturnType<typeof startPeer>>
        try {
          started = await startPeer(p, fds)
        } catch (err) {
          rec.startErr = err instanceof CannotStart ? err.message : String(err)
          opt.log(`[${s.name}] ${p.name}: cannot start: ${rec.startErr}`)
          continue
        }
        const cfg = genConfig(s, p, started.port, started.pid, { quick: opt.quick })
        let r: GenResult
        try {
          r = await runGenerator(cfg, fds, limitMs)
        } finally {
          await stopPeer(started)
        }
        rec.runs.push(r)
        const key = s.ratioMetrics[0]!.key
        opt.log(
          `[${s.name}] rep ${rep + 1}/${opt.reps} ${p.name}: ` +
            (r.ok
              ? `${key}=${r.metrics[key]} server ${r.metrics.serverCpuPct ?? '-'}% gen ${r.metrics.genCpuPct ?? '-'}%`
              : `FAILED ${r.error}`) +
            (r.notes.length ? ` (${r.notes.join('; ')})` : ''),
        )
      }
    }
  }
  for (const p of peers) {
    const rec = byPeer.get(p)!
    const good = rec.runs.filter((r) => r.ok)
    const notes = [...new Set(rec.runs.flatMap((r) => r.notes))]
    outcome.peers.push({
      peer: p.name,
      status: good.length > 0 ? 'ok' : rec.startErr || blocked ? 'cannot-start' : 'failed',
      reason:
        good.length > 0
          ? undefined
          : (rec.startErr ??
            blocked ??
            [...new Set(rec.runs.map((r) => r.error ?? 'unknown'))].join('; ')),
      okRuns: good.length,
      median: medianMetrics(good),
      notes,
      runs: rec.runs,
    })
  }
  for (const subject of outcome.peers) {
    if (!SUBJECTS.includes(subject.peer) || subject.status !== 'ok') continue
    const byMetric: Record<string, Record<string, number>> = {}
    for (const m of s.ratioMetrics) {
      const row: Record<string, number> = {}
      for (const p of outcome.peers) {
        if (SUBJECTS.includes(p.peer) || p.status !== 'ok') continue
        const a = subject.median[m.key]
        const b = p.median[m.key]
        if (a !== undefined && b !== undefined && a > 0 && b > 0)
          row[p.peer] = Math.round((a / b) * 100) / 100
      }
      byMetric[m.key] = row
    }
    outcome.ratios[subject.peer] = byMetric
  }
  return outcome
}
