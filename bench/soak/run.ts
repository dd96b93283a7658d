// `npm run soak`: many WebSocket and SSE subscribers on one server for a chosen time, with
// steady publish traffic and connection churn; reports memory, event-loop delay, deliveries
// and losses over time, and writes a JSON record and an SVG plot. Not a test (a smoke of it is:
// test/soak-smoke.test.ts). The server and the load generator each run in their own process
// with the soft fd limit raised to the hard one.
//
//   npm run soak -- --connections 10000 --duration 600 --out docs/soak
//
// Options (defaults): --connections 10000  --duration 600 (s, after every connection opened)
//   --rate 200 (publications/s)  --channels 100  --sse-share 0.3  --churn 20 (connections/s)
//   --payload 100 (bytes)  --warmup 30 (s before the event-loop histogram of the run starts)
//   --out bench/results/soak-<time> (writes <out>.json and <out>.svg)
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { dirname, resolve } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { renderSvg } from './plot.ts'
import type {
  FromLoad,
  FromServer,
  LoadConfig,
  LoadFinal,
  LoadSample,
  ServerSample,
} from './types.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

function arg(name: string, fallback: number): number
function arg(name: string, fallback: string): string
function arg(name: string, fallback: number | string): number | string {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return fallback
  const v = process.argv[i + 1] ?? ''
  if (typeof fallback === 'string') return v
  const n = Number(v)
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number`)
  return n
}

const connections = arg('connections', 10_000)
const duration = arg('duration', 600)
const warmup = Math.min(arg('warmup', 30), duration / 4)
const stamp = new Date().toISOString().replace(/[:.]/g, '-')
const out = resolve(arg('out', `bench/results/soak-${stamp}`))
const load: Omit<LoadConfig, 'port'> = {
  connections,
  channels: arg('channels', 100),
  sseShare: arg('sse-share', 0.3),
  rate: arg('rate', 200),
  payloadBytes: arg('payload', 100),
  churnPerSec: arg('churn', 20),
  connectBatch: 100,
  connectPauseMs: 50,
  drainMs: 2000,
}

const hardFds = (() => {
  const v = execFileSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim()
  return v === 'unlimited' ? 1 << 20 : Number(v)
})()
const needFds = connections + 1024
if (hardFds < needFds) {
  console.error(
    `soak: ${connections} connections need about ${needFds} file descriptors per process, ` +
      `but the hard limit is ${hardFds}. Raise it (ulimit -Hn as root, or /etc/security/limits.conf) ` +
      'or pass fewer --connections.',
  )
  process.exit(2)
}

const children: ChildProcess[] = []
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
})
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130))

/** Starts `file` under Node with tsx, an IPC channel and the soft fd limit at the hard one. */
function start(file: string, args: string[] = []): ChildProcess {
  const child = spawn(
    'bash',
    [
      '-c',
      'ulimit -n "$0" && exec "$@"',
      String(hardFds),
      process.execPath,
      '--import',
      'tsx',
      file,
      ...args,
    ],
    { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  )
  children.push(child)
  return child
}

function next<T>(child: ChildProcess, type: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no '${type}' within ${timeoutMs} ms`)),
      timeoutMs,
    )
    const onMessage = (m: { type: string }) => {
      if (m.type !== type) return
      clearTimeout(timer)
      child.off('message', onMessage)
      resolve(m as T)
    }
    child.on('message', onMessage)
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before '${type}'`)))
  })
}

const server = start('bench/soak/server.ts')
const { port } = await next<{ port: number }>(server, 'listening', 30_000)
const serverSamples: { s: number; v: ServerSample }[] = []
const loadSamples: { s: number; v: LoadSample }[] = []
let t0 = 0
/** The machine's 1-minute load average beside each server sample (the machine is shared). */
const loads: number[] = []
/**
 * A canary: this process is idle but for IPC, so its own event-loop delay is what the machine's
 * scheduler alone costs a Node process at that moment, the control beside the server's figure.
 */
const canary = monitorEventLoopDelay({ resolution: 1 })
const canaryWhole = monitorEventLoopDelay({ resolution: 1 })
canary.enable()
const canaryP99: number[] = []
server.on('message', (m: FromServer) => {
  if (m.type === 'sample' && t0 > 0) {
    serverSamples.push({ s: (m.sample.t - t0) / 1000, v: m.sample })
    loads.push(loadavg()[0]!)
    canaryP99.push(canary.percentile(99) / 1e6)
    canary.reset()
  }
})

console.log(
  `soak: ${connections} connections (${Math.round(load.sseShare * 100)}% SSE) on ${load.channels} channels, ` +
    `${load.rate} publications/s of ${load.payloadBytes} B, churn ${load.churnPerSec}/s, ${duration} s; server pid ${server.pid}`,
)
const rampStart = Date.now()
const gen = start('bench/soak/load.ts', [JSON.stringify({ ...load, port })])
const ready = await next<Extract<FromLoad, { type: 'ready' }>>(gen, 'ready', 120_000)
t0 = Date.now()
console.log(
  `soak: ${ready.opened} of ${connections} open after ${((t0 - rampStart) / 1000).toFixed(1)} s` +
    (ready.failedOpens > 0
      ? ` (${ready.failedOpens} attempts refused and retried: ${JSON.stringify(ready.reasons)})`
      : ''),
)
const fmtMB = (b: number) => (b / 2 ** 20).toFixed(1)
gen.on('message', (m: FromLoad) => {
  if (m.type !== 'sample') return
  const s = (m.sample.t - t0) / 1000
  loadSamples.push({ s, v: m.sample })
  const sv = serverSamples.at(-1)?.v
  if (sv && Math.round(s) % 10 === 0) {
    console.log(
      `${s.toFixed(0).padStart(5)} s  rss ${fmtMB(sv.rss)} MB  heap ${fmtMB(sv.heapUsed)} MB  ` +
        `eld p99 ${sv.eldP99.toFixed(1)} ms  cpu ${sv.cpuPct.toFixed(0)}%  open ${m.sample.open}  ` +
        `delivered/s ${m.sample.delivered}  latency p99 ${m.sample.latencyP99.toFixed(1)} ms  ` +
        `lost ${m.sample.lostNeverBehind}  behind ${m.sample.behind}  gen eld ${m.sample.genEldP99.toFixed(0)} ms`,
    )
  }
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
await sleep(warmup * 1000)
server.send({ type: 'steady' })
canaryWhole.enable()
await sleep((duration - warmup) * 1000)
const finalLoad = next<{ final: LoadFinal }>(gen, 'final', 30_000)
gen.send({ type: 'finish' })
const { final } = await finalLoad
const eld = await new Promise<Extract<FromServer, { type: 'final' }>>((resolve, reject) => {
  next<Extract<FromServer, { type: 'final' }>>(server, 'final', 10_000).then(resolve, reject)
  server.send({ type: 'final' })
})
server.disconnect()

// ---- figures against the targets ----
const steady = serverSamples.filter((x) => x.s <= duration)
/** Mean RSS over the minute ending at `at` seconds ("minute 2" is the one ending at 120 s;
 * shorter runs use a fifth of their length). */
const earlyAt = Math.min(120, Math.max(2, duration / 5))
const span = Math.min(60, earlyAt)
const rssAround = (at: number) => {
  const w = steady.filter((x) => x.s > at - span && x.s <= at + 0.5)
  return w.reduce((a, x) => a + x.v.rss, 0) / Math.max(1, w.length)
}
const rssEarly = rssAround(earlyAt)
const rssLate = rssAround(duration)
const drift = (rssLate - rssEarly) / rssEarly
const maxWindowEld = Math.max(...steady.filter((x) => x.s >= warmup).map((x) => x.v.eldP99))
const totalDelivered = loadSamples.reduce((a, x) => a + x.v.delivered, 0)
const machine = {
  cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  loadMean: Number((loads.reduce((a, x) => a + x, 0) / Math.max(1, loads.length)).toFixed(2)),
  loadMax: Number(Math.max(0, ...loads).toFixed(2)),
}
const result = {
  config: { ...load, duration, warmup },
  machine,
  figures: {
    rssEarlyMB: Number(fmtMB(rssEarly)),
    rssEarlyAt: earlyAt,
    rssLateMB: Number(fmtMB(rssLate)),
    rssDriftPct: Number((drift * 100).toFixed(2)),
    eldP99Ms: Number(eld.eldP99.toFixed(2)),
    eldMaxMs: Number(eld.eldMax.toFixed(2)),
    canaryEldP99Ms: Number((canaryWhole.percentile(99) / 1e6).toFixed(2)),
    worstSecondEldP99Ms: Number(maxWindowEld.toFixed(2)),
    delivered: totalDelivered,
    ...final,
  },
  targets: {
    rssDriftUnder5Pct: drift < 0.05,
    eldP99Under50Ms: eld.eldP99 < 50,
    zeroLossNeverBehind: final.lostNeverBehind === 0,
  },
  server: serverSamples.map((x) => ({ s: Number(x.s.toFixed(1)), ...x.v })),
  load: loadSamples.map((x) => ({ s: Number(x.s.toFixed(1)), ...x.v })),
}
mkdirSync(dirname(out), { recursive: true })
writeFileSync(`${out}.json`, `${JSON.stringify(result, null, 1)}\n`)

const sv = (f: (v: ServerSample) => number) => steady.map((x) => [x.s, f(x.v)] as [number, number])
const lv = (f: (v: LoadSample) => number) =>
  loadSamples.filter((x) => x.s <= duration).map((x) => [x.s, f(x.v)] as [number, number])
const MB = 2 ** 20
writeFileSync(
  `${out}.svg`,
  renderSvg(
    `Soak: ${connections.toLocaleString('en')} connections, ${duration} s`,
    [
      {
        title: 'Server memory',
        unit: 'MB',
        series: [
          { name: 'RSS', color: '#1f77b4', points: sv((v) => v.rss / MB) },
          { name: 'heap used', color: '#ff7f0e', points: sv((v) => v.heapUsed / MB) },
          { name: 'heap total', color: '#2ca02c', points: sv((v) => v.heapTotal / MB) },
        ],
      },
      {
        title: 'Server event-loop delay, p99 per second',
        unit: 'ms',
        series: [
          { name: 'p99', color: '#d62728', points: sv((v) => v.eldP99) },
          {
            name: 'idle canary p99',
            color: '#1f77b4',
            points: steady.map((x, i) => [x.s, canaryP99[i] ?? Number.NaN] as [number, number]),
          },
          { name: 'server CPU % / 10', color: '#7f7f7f', points: sv((v) => v.cpuPct / 10) },
        ],
        target: { value: 50, label: 'target p99 < 50 ms' },
      },
      {
        title: 'Deliveries per second, over every client',
        unit: 'deliveries/s',
        series: [{ name: 'deliveries/s', color: '#9467bd', points: lv((v) => v.delivered) }],
      },
      {
        title: 'Publish-to-delivery latency (a sample of deliveries each second)',
        unit: 'ms',
        series: [
          { name: 'p50', color: '#8c564b', points: lv((v) => v.latencyP50) },
          { name: 'p99', color: '#e377c2', points: lv((v) => v.latencyP99) },
        ],
      },
      {
        title: 'Connections and losses',
        unit: 'count',
        series: [
          { name: 'open connections', color: '#17becf', points: lv((v) => v.open) },
          { name: 'lost (never behind)', color: '#d62728', points: lv((v) => v.lostNeverBehind) },
          { name: 'clients told behind', color: '#bcbd22', points: lv((v) => v.behind) },
        ],
      },
    ],
    duration,
    [
      `RSS ${fmtMB(rssEarly)} MB at ${earlyAt} s, ${fmtMB(rssLate)} MB at ${duration} s: drift ${(drift * 100).toFixed(2)}% (target < 5%). ` +
        `Event-loop delay p99 ${eld.eldP99.toFixed(1)} ms from ${warmup} s on (target < 50 ms); an idle canary process: ${result.figures.canaryEldP99Ms} ms.`,
      `Delivered ${totalDelivered.toLocaleString('en')}; lost by clients never told they fell behind: ${final.lostNeverBehind} (target 0); ` +
        `clients told behind: ${final.behind}; clients over the run (churn included): ${final.clients}.`,
      `Machine: ${machine.cpus}, ${machine.memoryGiB} GiB, Node ${machine.node}; 1-min load average during the run: mean ${machine.loadMean}, max ${machine.loadMax}.`,
    ],
  ),
)
console.log(
  `\nsoak: RSS ${fmtMB(rssEarly)} MB at ${earlyAt} s -> ${fmtMB(rssLate)} MB at ${duration} s, drift ${(drift * 100).toFixed(2)}% ` +
    `(target < 5%: ${result.targets.rssDriftUnder5Pct ? 'met' : 'MISSED'})`,
)
console.log(
  `soak: event-loop delay p99 ${eld.eldP99.toFixed(2)} ms, max ${eld.eldMax.toFixed(1)} ms from ${warmup} s on ` +
    `(an idle canary process on the same machine: p99 ${result.figures.canaryEldP99Ms} ms) ` +
    `(target p99 < 50 ms: ${result.targets.eldP99Under50Ms ? 'met' : 'MISSED'})`,
)
console.log(
  `soak: delivered ${totalDelivered}, published ${final.published} (${final.publishErrors} errors); ` +
    `lost by clients never behind ${final.lostNeverBehind} (tail ${final.tailLost}; target 0: ${result.targets.zeroLossNeverBehind ? 'met' : 'MISSED'}); ` +
    `${final.behind} of ${final.clients} clients told they fell behind; ${final.closedByServer} closed by the server; ${final.failedOpens} failed opens`,
)
console.log(`soak: wrote ${out}.json and ${out}.svg`)
process.exit(0)
