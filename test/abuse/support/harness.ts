// Starts the abuse tests' server and probe processes and talks to them; the bounds every abuse
// test asserts (memory, the probe's service) are written once here.
import assert from 'node:assert/strict'
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type {
  AbuseConfig,
  FromAbuseServer,
  FromProbe,
  ProbeReport,
  ServerStats,
  ToAbuseServer,
} from './types.ts'

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url))
const children = new Set<ChildProcess>()
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL')
})

function request<T>(
  child: ChildProcess,
  msg: unknown,
  type: string,
  timeoutMs = 15_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', on)
      reject(new Error(`no '${type}' from the child within ${timeoutMs} ms`))
    }, timeoutMs)
    const on = (m: { type: string }) => {
      if (m.type !== type) return
      clearTimeout(timer)
      child.off('message', on)
      resolve(m as T)
    }
    child.on('message', on)
    if (msg !== null) child.send(msg as never)
  })
}

export interface AbuseServer {
  port: number
  stats(): Promise<ServerStats>
  /** Two full GCs, then the stats: the memory that is really held. */
  settled(): Promise<ServerStats>
  resetPeak(): Promise<void>
  publish(channel: string, perSecond: number, bytes: number): Promise<void>
  stopPublishing(): Promise<void>
  close(): Promise<void>
}

/**
 * Starts the abuse server in its own process (with --expose-gc). Its young generation is pinned
 * to 16 MiB semi-spaces, Node 20's default: Node 24's V8 grows them up to twice as far under a
 * flood's allocation rate, which is garbage the GC has not yet reclaimed, not memory the server
 * keeps, and the RSS bounds below must mean the same on both.
 */
export async function startServer(config: AbuseConfig = {}): Promise<AbuseServer> {
  const child = fork(here('./server.ts'), [JSON.stringify(config)], {
    execArgv: ['--expose-gc', '--max-semi-space-size=16', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  children.add(child)
  const { port } = await request<{ port: number }>(child, null, 'listening', 30_000)
  const ask = (m: ToAbuseServer, type: string) => request<FromAbuseServer>(child, m, type)
  const stats = async () => {
    const { type: _t, ...s } = (await ask({ type: 'stats' }, 'stats')) as ServerStats & {
      type: string
    }
    return s
  }
  return {
    port,
    stats,
    async settled() {
      await ask({ type: 'gc' }, 'gc')
      return stats()
    },
    async resetPeak() {
      await ask({ type: 'reset-peak' }, 'reset-peak')
    },
    async publish(channel, perSecond, bytes) {
      await ask(
        { type: 'publish', channel, perTick: Math.max(1, perSecond / 100), bytes },
        'publish',
      )
    },
    async stopPublishing() {
      await ask({ type: 'stop-publish' }, 'stop-publish')
    },
    async close() {
      if (child.exitCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.disconnect()
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
      children.delete(child)
    },
  }
}

export interface Probe {
  /** Measures while `during` runs, and returns what it measured. */
  measure(during: () => Promise<unknown>): Promise<ProbeReport>
  close(): void
}

/** Starts a well-behaved client in its own process ('echo' round trips, or a channel subscriber). */
export async function startProbe(
  port: number,
  mode: 'echo' | 'channel',
  channel?: string,
): Promise<Probe> {
  const args = [String(port), mode, ...(channel === undefined ? [] : [channel])]
  const child = fork(here('./probe.ts'), args, {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  children.add(child)
  await request<FromProbe>(child, null, 'ready', 30_000)
  return {
    async measure(during) {
      await request(child, { type: 'start' }, 'started')
      await during()
      const { type: _t, ...r } = await request<{ type: string } & ProbeReport>(
        child,
        { type: 'stop' },
        'report',
      )
      return r
    },
    close() {
      child.disconnect()
      children.delete(child)
    },
  }
}

const MB = 2 ** 20

/**
 * The well-behaved client kept its service: it was answered all along (at least `minCount`
 * times, or once per 100 ms of a shorter attack: an echo probe asks every 20 ms, so a fast
 * machine that ends the attack in 300 ms owes it only three answers; never cut off) and its p99 under attack stayed within 5× its own quiet p99 plus
 * 100 ms, or 2 s, whichever is larger. The machine has 2 cores shared with other test runs
 * (load averages of 20-40 were seen), so the bound is relative to a reading taken in the same
 * run, with a floor for the scheduler's own stalls; an attack that takes the server's event
 * loop shows as seconds.
 */
export function assertService(quiet: ProbeReport, attacked: ProbeReport, minCount: number): string {
  assert.equal(attacked.broken, null, `the probe lost its connection: ${attacked.broken}`)
  const want = Math.max(1, Math.min(minCount, Math.floor(attacked.ms / 100)))
  assert.ok(
    attacked.count >= want,
    `the probe was answered ${attacked.count} times in ${attacked.ms.toFixed(0)} ms (want ${want}+)`,
  )
  const bound = Math.max(quiet.p99 * 5 + 100, 2000)
  assert.ok(
    attacked.p99 <= bound,
    `probe p99 ${attacked.p99.toFixed(1)} ms under attack, bound ${bound.toFixed(1)} ms (quiet p99 ${quiet.p99.toFixed(1)} ms)`,
  )
  return `probe: ${attacked.count} answers, p50 ${attacked.p50.toFixed(1)} ms, p99 ${attacked.p99.toFixed(1)} ms under attack (quiet p99 ${quiet.p99.toFixed(1)} ms)`
}

/** The server's peak RSS during the attack stayed within `mb` of its settled RSS before. */
export function assertPeakWithin(before: ServerStats, during: ServerStats, mb: number): string {
  const grew = (during.peakRss - before.rss) / MB
  assert.ok(grew <= mb, `server RSS peaked ${grew.toFixed(1)} MB above its start (bound ${mb} MB)`)
  return `server: RSS ${(before.rss / MB).toFixed(1)} MB before, peak +${grew.toFixed(1)} MB during (bound ${mb} MB)`
}

/** After the attack and a GC, the server holds at most `mb` more heap than before. */
export function assertHeapBack(before: ServerStats, after: ServerStats, mb: number): void {
  const grew = (after.heapUsed - before.heapUsed) / MB
  assert.ok(
    grew <= mb,
    `server heap ${grew.toFixed(1)} MB above its start after the attack (bound ${mb} MB)`,
  )
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
