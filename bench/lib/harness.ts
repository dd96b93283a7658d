// Runs one scenario: for each repetition, for each peer (order rotated per repetition so no peer
// always goes first), start a fresh server (for a cluster peer: a fresh redis-server, then each
// node; for a durable peer, a fresh temp directory), run the generator once, stop them. Then take
// the median of every metric over the successful repetitions.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadAvg1 } from './proc.ts'
import { type RedisProc, startRedis } from './redis-server.ts'
import { BUSY_PCT } from './report.ts'
import { fdsNeeded, genConfig, type Peer, type Scenario, subjectsOf } from './scenarios.ts'
import {
  CannotStart,
  ephemeralPorts,
  hardFdLimit,
  runGenerator,
  type Started,
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
  /** Tries of a repetition while other processes keep the machine busy (default BUSY_TRIES);
   * smoke tests, which check the harness and not the figures, take 1. */
  busyTries?: number
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

/** Tries of one repetition when other processes keep the machine busy. */
const BUSY_TRIES = 3

/** The processes of one run of a peer: its server node(s), for a cluster the redis-server, for a
 * durable peer its data directory. */
interface PeerSet {
  nodes: Started[]
  redis: RedisProc | null
  durableDir: string | null
}

/** Data directories not yet removed, so an interrupted run leaves none behind. */
const durableDirs = new Set<string>()
process.on('exit', () => {
  for (const dir of durableDirs) rmSync(dir, { recursive: true, force: true })
})

/** Starts redis-server (when the peer uses it), then every node; all or nothing. */
async function startPeerSet(p: Peer, fds: number): Promise<PeerSet> {
  const set: PeerSet = { nodes: [], redis: null, durableDir: null }
  try {
    if (p.durable) {
      // In os.tmpdir(): on tmpfs a sync costs nothing, so BENCHMARKS.md names its filesystem.
      set.durableDir = mkdtempSync(join(tmpdir(), 'swb-bench-durable-'))
      durableDirs.add(set.durableDir)
    }
    if (p.redis) {
      try {
        set.redis = await startRedis()
      } catch (err) {
        throw new CannotStart((err as Error).message)
      }
    }
    const env = {
      BENCH_REDIS_URL: set.redis?.url ?? '',
      BENCH_DURABLE_DIR: set.durableDir ?? '',
      BENCH_DURABLE_DELIVERY: p.durableDelivery ?? 'committed',
      BENCH_METRICS: p.metrics === true ? '1' : '',
    }
    const started = await Promise.allSettled(
      Array.from({ length: p.nodes ?? 1 }, () => startPeer(p, fds, env)),
    )
    for (const s of started) if (s.status === 'fulfilled') set.nodes.push(s.value)
    const failed = started.find((s) => s.status === 'rejected')
    if (failed) throw failed.reason
    return set
  } catch (err) {
    await stopPeerSet(set)
    throw err
  }
}

async function stopPeerSet(set: PeerSet): Promise<void> {
  await Promise.all(set.nodes.map((n) => stopPeer(n)))
  await set.redis?.stop()
  if (set.durableDir !== null) {
    rmSync(set.durableDir, { recursive: true, force: true })
    durableDirs.delete(set.durableDir)
  }
}

/** One run of `p`: start its processes, run the generator once, stop them. */
async function runOnce(
  s: Scenario,
  p: Peer,
  fds: number,
  limitMs: number,
  quick: boolean,
): Promise<GenResult> {
  const started = await startPeerSet(p, fds)
  const [first, ...rest] = started.nodes
  const extra = {
    ...(rest.length > 0 || started.redis
      ? {
          nodes: started.nodes.map((n) => ({ port: n.port, pid: n.pid })),
          ...(started.redis ? { redisPid: started.redis.pid } : null),
        }
      : null),
    ...(started.durableDir === null ? null : { durableDir: started.durableDir }),
  }
  const cfg = genConfig(s, p, first!.port, first!.pid, { quick }, extra)
  try {
    return await runGenerator(cfg, fds, limitMs)
  } finally {
    await stopPeerSet(started)
  }
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
  const byPeer = new Map<
    Peer,
    { runs: GenResult[]; startErr?: string; notes: string[]; repeated: number }
  >()
  for (const p of peers) byPeer.set(p, { runs: [], notes: [], repeated: 0 })
  if (blocked) {
    outcome.error = blocked
    opt.log(`[${s.name}] cannot run: ${blocked}`)
  } else {
    // The idle scenarios wait through two quiet periods of their own (settleMs each) besides
    // opening 10,000 connections, which a busy machine can make slow.
    const idle = probe.kind === 'idle'
    const limitMs = Math.min(
      idle ? 90_000 : 60_000,
      probe.warmupMs + probe.durationMs + (idle ? 2 * probe.settleMs : 0) + 45_000,
    )
    for (let rep = 0; rep < opt.reps; rep++) {
      const order = peers.map((_, i) => peers[(i + rep) % peers.length]!)
      for (const p of order) {
        const rec = byPeer.get(p)!
        if (rec.startErr) continue // a peer that cannot start will not start on the next try either
        // A run during which other processes used a good share of the machine is repeated (at
        // most BUSY_TRIES tries in all); the last try counts either way, and the report flags it.
        let r: GenResult | null = null
        const tries = opt.busyTries ?? BUSY_TRIES
        for (let attempt = 1; attempt <= tries; attempt++) {
          try {
            r = await runOnce(s, p, fds, limitMs, opt.quick)
          } catch (err) {
            rec.startErr = err instanceof CannotStart ? err.message : String(err)
            opt.log(`[${s.name}] ${p.name}: cannot start: ${rec.startErr}`)
            break
          }
          if (!r.ok || (r.metrics.otherCpuPct ?? 0) < BUSY_PCT || attempt === tries) break
          rec.repeated++
          opt.log(
            `[${s.name}] rep ${rep + 1}/${opt.reps} ${p.name}: other processes used ${r.metrics.otherCpuPct}% of a core; repeating`,
          )
        }
        if (r === null) continue
        rec.runs.push(r)
        const key = s.ratioMetrics[0]!.key
        opt.log(
          `[${s.name}] rep ${rep + 1}/${opt.reps} ${p.name}: ` +
            (r.ok
              ? `${key}=${r.metrics[key]} server ${r.metrics.serverCpuPct ?? '-'}% gen ${r.metrics.genCpuPct ?? '-'}% other ${r.metrics.otherCpuPct ?? '-'}%`
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
    if (rec.repeated > 0) notes.push(`${rec.repeated} run(s) repeated: other processes were busy`)
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
  const subjects = subjectsOf(s)
  for (const subject of outcome.peers) {
    if (!subjects.includes(subject.peer) || subject.status !== 'ok') continue
    const byMetric: Record<string, Record<string, number>> = {}
    for (const m of s.ratioMetrics) {
      const row: Record<string, number> = {}
      for (const p of outcome.peers) {
        if (subjects.includes(p.peer) || p.status !== 'ok') continue
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
