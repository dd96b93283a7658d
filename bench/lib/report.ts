// Turns scenario outcomes into the Markdown tables printed on the console and written to
// bench/results/latest.md, and merges them into bench/results/latest.json.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { ScenarioOutcome } from './harness.ts'
import type { MachineInfo } from './proc.ts'
import { SCENARIOS, subjectsOf } from './scenarios.ts'

const LABELS: Record<string, string> = {
  reqPerSec: 'requests/s',
  roundTripsPerSec: 'round trips/s',
  deliveriesPerSec: 'deliveries/s',
  cpuUsPerDelivery: 'server CPU-µs / delivery',
  cpuUsPerRoundTrip: 'server CPU-µs / round trip',
  cpuUsPerRequest: 'server CPU-µs / request',
  serverCpuPct: 'server CPU %',
  genCpuPct: 'generator CPU %',
  bytesPerConn: 'RSS bytes / connection (steady)',
  bytesPerConnAt2s: 'RSS bytes / connection 2 s after the last open',
  heapBytesPerConn: 'V8 heap bytes / connection (steady)',
  heapBytesPerConnAt2s: 'V8 heap bytes / connection at 2 s',
  rssBeforeMB: 'RSS before (MB)',
  rssAfterMB: 'RSS after (MB)',
  connectPerSec: 'connects/s',
  p50Ms: 'p50 ms',
  p99Ms: 'p99 ms',
  maxMs: 'max ms',
  lost: 'lost',
  deliveriesPerCpuSec: 'deliveries / server CPU-s',
  otherCpuPct: 'other processes CPU %',
  deliveriesPerWrite: 'deliveries / server write call',
  node0CpuPct: 'publishing node CPU %',
  node1CpuPct: 'other node CPU %',
  redisCpuPct: 'redis CPU %',
  redisCpuUsPerPublication: 'redis CPU-µs / publication',
  pubNodeP50Ms: 'publishing node p50 ms',
  pubNodeP99Ms: 'publishing node p99 ms',
  otherNodeP50Ms: 'other node p50 ms',
  otherNodeP99Ms: 'other node p99 ms',
  publishesPerSec: 'publishes answered/s',
  cpuUsPerPublish: 'server CPU-µs / publish',
  ackP50Ms: 'POST→answer p50 ms',
  ackP99Ms: 'POST→answer p99 ms',
  commitsPerSec: 'commits (sync batches)/s',
  publishesPerCommit: 'publishes / commit',
  diskFlushesPerSec: 'disk flushes/s (whole machine)',
  storageKBPerSec: 'server storage writes KB/s',
  p999Ms: 'p99.9 ms',
  rssMB: 'server RSS (MB)',
}

/** A generator at or above this share of one core was probably the limit, not the server. */
export const GEN_BOUND_PCT = 90
/** Other processes using this share of a core during a run make its figures suspect. */
export const BUSY_PCT = 20
/** In a max-rate scenario, both processes below this share of a core means the load was not max. */
export const UNSATURATED_PCT = 80

function fmt(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '–'
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US')
  if (Math.abs(x) >= 100) return String(Math.round(x))
  return String(Math.round(x * 100) / 100)
}

function settings(o: ScenarioOutcome): string {
  const c = o.config
  if (!c) return 'unknown'
  const parts = [
    c.kind === 'publish-max'
      ? `${c.connections.toLocaleString('en-US')} subscribers, ${c.publishers} publishers with one POST /pub in flight each`
      : `${c.connections.toLocaleString('en-US')} connections`,
  ]
  if (c.kind === 'idle')
    parts.push(
      `steady states: full GC and ${c.settleMs} ms of quiet before each RSS reading (and a reading 2 s after the last open)`,
    )
  else parts.push(`${c.warmupMs} ms warm-up, ${c.durationMs} ms measured`)
  if (c.kind === 'fanout-max') parts.push(`up to ${c.window} publications in flight`)
  if (c.kind === 'fanout-rate') parts.push(`${c.rate.toLocaleString('en-US')} deliveries/s target`)
  if (c.kind === 'rooms' && c.rooms) {
    const r = c.rooms
    const rooms = Math.max(1, Math.round(c.connections / r.roomSize))
    parts.push(
      `${rooms.toLocaleString('en-US')} rooms of ${r.roomSize} and one channel for all`,
      `${r.roomRate} room publications/s (${Math.round(r.hotShare * 100)} % of them to ${Math.round(r.hotRooms * 100)} % of the rooms) and ${r.allRate}/s to all`,
      `${r.movesPerSec} room moves/s (unsubscribe + subscribe) and ${r.reconnectsPerSec} reconnects/s`,
      'server RSS read at the end of the measured window',
    )
  }
  if (c.kind !== 'idle' && c.kind !== 'http') parts.push(`${c.payloadBytes}-byte payload`)
  return parts.join(', ')
}

export function scenarioTable(o: ScenarioOutcome): string {
  const def = SCENARIOS.find((s) => s.name === o.name)
  const cols = def?.columns ?? []
  const ratioMetrics = def?.ratioMetrics ?? []
  const subjects = subjectsOf(def)
  const subject0 = subjects[0]!
  const head = [
    'peer',
    ...cols.map((c) => LABELS[c] ?? c),
    ...ratioMetrics.map(
      (m) => `${subject0} ÷ peer, ${m.label} (${m.higherIsBetter ? '↑' : '↓'} better)`,
    ),
    'notes',
  ]
  const lines = [
    `### ${o.name}: ${o.title}`,
    '',
    `Median of ${o.reps} repetition(s)${o.quick ? ', QUICK mode (reduced sizes and durations; not a result)' : ''}; ${o.date}; load average at start ${o.loadAvg1}.`,
    `Settings: ${settings(o)}.`,
    '',
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
  ]
  if (o.error) lines.splice(3, 0, `**Scenario could not run:** ${o.error}`, '')
  for (const p of o.peers) {
    if (p.status !== 'ok') {
      const why = p.status === 'cannot-start' ? `cannot start: ${p.reason}` : `failed: ${p.reason}`
      lines.push(
        `| ${p.peer} | ${[...cols, ...ratioMetrics].map(() => '–').join(' | ')} | ${why} |`,
      )
      continue
    }
    const notes: string[] = []
    const gen = p.median.genCpuPct ?? 0
    const server = p.median.serverCpuPct ?? 0
    if (gen >= GEN_BOUND_PCT) notes.push('generator-bound')
    else if (def?.saturates && server < UNSATURATED_PCT && gen < UNSATURATED_PCT)
      notes.push('neither process saturated (busy machine or too few requests in flight)')
    if (p.okRuns < o.reps) notes.push(`${p.okRuns}/${o.reps} runs ok`)
    const busy = p.runs.filter((r) => r.ok && (r.metrics.otherCpuPct ?? 0) >= BUSY_PCT).length
    if (busy > 0)
      notes.push(`${busy} run(s) shared the machine (other processes ≥ ${BUSY_PCT} % of a core)`)
    if (p.median.bytesPerConn !== undefined && p.median.bytesPerConn <= 0)
      notes.push('RSS did not grow: too few connections to measure')
    notes.push(...p.notes)
    const ratios = ratioMetrics.map((m) => {
      if (p.peer === subject0) return '1×'
      const r = o.ratios[subject0]?.[m.key]?.[p.peer]
      return r === undefined ? '–' : `${r}×`
    })
    lines.push(
      `| ${p.peer} | ${cols.map((c) => fmt(p.median[c])).join(' | ')} | ${ratios.join(' | ')} | ${notes.join('; ')} |`,
    )
  }
  // Further Switchboard rows (the channels hub) get their ratios on a line of their own.
  for (const subject of subjects) {
    if (subject === subject0 || !o.ratios[subject]) continue
    const parts = ratioMetrics.map((m) => {
      const row = o.ratios[subject]?.[m.key] ?? {}
      const cells = Object.entries(row).map(([peer, r]) => `${peer} ${r}×`)
      return `${m.label} (${m.higherIsBetter ? '↑' : '↓'} better): ${cells.join(', ') || '–'}`
    })
    lines.push('', `${subject} ÷ peer — ${parts.join('; ')}`)
  }
  return lines.join('\n')
}

export interface Report {
  command: string
  machine: MachineInfo & { bun: string; fdHardLimit: number; loadAvg1AtStart: number }
  scenarios: ScenarioOutcome[]
}

/** Merges `fresh` into the report at `path` (scenarios replaced by name) and rewrites it. */
export function writeReport(path: string, fresh: Report): Report {
  mkdirSync(dirname(path), { recursive: true })
  let merged = fresh
  if (existsSync(path)) {
    try {
      const old = JSON.parse(readFileSync(path, 'utf8')) as Report
      const names = new Set(fresh.scenarios.map((s) => s.name))
      const kept = old.scenarios.filter((s) => !names.has(s.name))
      const order = SCENARIOS.map((s) => s.name)
      merged = {
        ...fresh,
        scenarios: [...kept, ...fresh.scenarios].sort(
          (a, b) => order.indexOf(a.name) - order.indexOf(b.name),
        ),
      }
    } catch {
      // An unreadable old report is replaced.
    }
  }
  writeFileSync(path, `${JSON.stringify(merged, null, 2)}\n`)
  writeFileSync(path.replace(/\.json$/, '.md'), `${markdown(merged)}\n`)
  return merged
}

export function machineLine(r: Report): string {
  const m = r.machine
  return (
    `${m.cores} × ${m.cpuModel}, ${m.memoryGiB} GiB RAM, ${m.platform} (kernel ${m.kernel}), ` +
    `Node ${m.node}, Bun ${m.bun}, fd hard limit ${m.fdHardLimit}, load average at start ${m.loadAvg1AtStart}`
  )
}

export function markdown(r: Report): string {
  return [
    `Machine: ${machineLine(r)}`,
    `Last command: \`${r.command}\``,
    '',
    ...r.scenarios.map((s) => `${scenarioTable(s)}\n`),
  ].join('\n')
}
