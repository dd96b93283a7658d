// Starting and stopping peer servers and the load generator, each in its own process with a
// raised file-descriptor limit (`bash -c 'ulimit -n N && exec ...'`), all bounded by timeouts.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Peer } from './scenarios.ts'
import type { GenConfig, GenResult } from './types.ts'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const BUN = `${ROOT}node_modules/.bin/bun`

const live = new Set<ChildProcess>()
/** Kills every child still running (on exit or interrupt). */
export function killAll(): void {
  for (const c of live) c.kill('SIGKILL')
  live.clear()
}
process.on('exit', killAll)

/** The hard fd limit a child can raise its soft limit to. */
export function hardFdLimit(): number {
  const out = execFileSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim()
  return out === 'unlimited' ? Number.POSITIVE_INFINITY : Number(out)
}

/** Local ports available for outgoing connections (each generator connection takes one). */
export function ephemeralPorts(): number {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number)
    return hi! - lo! + 1
  } catch {
    return Number.NaN
  }
}

/** Spawns `cmd args` with the soft fd limit raised to `fds`; exits 97 with a message if it can't. */
function spawnLimited(cmd: string, args: string[], fds: number, env: NodeJS.ProcessEnv) {
  const script =
    'ulimit -n "$0" 2>/dev/null || { echo "cannot raise the fd limit to $0 (hard limit $(ulimit -Hn))" >&2; exit 97; }; exec "$@"'
  const child = spawn('bash', ['-c', script, String(fds), cmd, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  live.add(child)
  child.on('exit', () => live.delete(child))
  return child
}

export interface Started {
  child: ChildProcess
  pid: number
  port: number
}

/** A peer that did not come up: `cannot start: <reason>`. */
export class CannotStart extends Error {}

/** A one-line summary of a child's stderr: its first error line, then its last words. */
function tail(s: string, n = 400): string {
  const first =
    s
      .split('\n')
      .find((l) => /error/i.test(l))
      ?.trim()
      .slice(0, 300) ?? ''
  const t = s.trim().replace(/\s+/g, ' ')
  const end = t.length > n - first.length ? `…${t.slice(-(n - first.length))}` : t
  return first && !end.includes(first) ? `${first} ${end}` : end
}

/**
 * Extra Node flags for every Node peer, from BENCH_NODE_ARGS (space-separated), for profiling:
 * `BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' npm run bench:ws-fanout -- --reps 1`.
 * (`--cpu-prof` is refused in NODE_OPTIONS; peers exit cleanly on SIGTERM so the profile is written.)
 */
const PEER_NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '')

/** The same for the generator, from BENCH_GEN_NODE_ARGS. */
const GEN_NODE_ARGS = (process.env.BENCH_GEN_NODE_ARGS ?? '').split(' ').filter((a) => a !== '')

/** How long a peer may take to print READY: BENCH_READY_MS, default 15 s (a machine shared with
 * other work may need more just to load the sources). */
const READY_MS = Number(process.env.BENCH_READY_MS ?? 15_000)

/** Starts a peer and resolves once it printed `READY <port>` (READY_MS limit). */
export function startPeer(
  p: Peer,
  fds: number,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<Started> {
  const child =
    p.runtime === 'bun'
      ? spawnLimited(BUN, [p.file], fds, { ...p.env, ...extraEnv, BENCH_KIND: p.kind })
      : spawnLimited(
          process.execPath,
          [...PEER_NODE_ARGS, '--expose-gc', '--import', 'tsx', p.file],
          fds,
          {
            ...p.env,
            ...extraEnv,
            BENCH_KIND: p.kind,
            NODE_ENV: 'production',
          },
        )
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    const fail = (why: string) => {
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(new CannotStart(why))
    }
    const timer = setTimeout(
      () => fail(`no READY line within ${READY_MS / 1000} s ${tail(err)}`),
      READY_MS,
    )
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString()
      const ready = /READY (\d+)/.exec(out)
      const unavailable = /UNAVAILABLE ([^\n]*)/.exec(out)
      if (ready) {
        clearTimeout(timer)
        resolve({ child, pid: child.pid!, port: Number(ready[1]) })
      } else if (unavailable) fail(unavailable[1]!)
    })
    child.stderr!.on('data', (b: Buffer) => {
      err = (err + b.toString()).slice(-4000)
    })
    child.on('exit', (code, signal) => {
      if (!/READY/.test(out)) fail(`exited (${code ?? signal}) before READY: ${tail(err)}`)
    })
    child.on('error', (e) => fail(e.message))
  })
}

/** Stops a peer: SIGTERM, then SIGKILL after 2 s. */
export async function stopPeer(s: Started): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return
  const gone = new Promise<void>((r) => s.child.once('exit', () => r()))
  s.child.kill('SIGTERM')
  const t = setTimeout(() => s.child.kill('SIGKILL'), 2000)
  await gone
  clearTimeout(t)
}

/** Runs the generator once; never takes longer than `limitMs`. */
export function runGenerator(cfg: GenConfig, fds: number, limitMs: number): Promise<GenResult> {
  const child = spawnLimited(
    process.execPath,
    [...GEN_NODE_ARGS, '--import', 'tsx', 'bench/gen/main.ts', JSON.stringify(cfg)],
    fds,
    {},
  )
  return new Promise((resolve) => {
    let out = ''
    let err = ''
    const done = (r: GenResult) => {
      clearTimeout(timer)
      resolve(r)
    }
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      done({ ok: false, error: `generator exceeded ${limitMs / 1000} s`, metrics: {}, notes: [] })
    }, limitMs)
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString()
    })
    child.stderr!.on('data', (b: Buffer) => {
      err = (err + b.toString()).slice(-4000)
    })
    child.on('exit', (code) => {
      const line = /RESULT (.*)/.exec(out)
      if (line) done(JSON.parse(line[1]!) as GenResult)
      else
        done({ ok: false, error: `generator exited ${code}: ${tail(err)}`, metrics: {}, notes: [] })
    })
  })
}
