// A throwaway redis-server for a cluster run: loopback only, a free port, no persistence, its own
// temporary directory; started fresh for every run of a cluster peer and killed after it.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/** Why redis-server cannot run here (not installed), or null. */
export function redisMissing(): string | null {
  try {
    execFileSync('sh', ['-c', 'command -v redis-server && command -v redis-cli'], {
      stdio: 'ignore',
    })
    return null
  } catch {
    return 'redis-server or redis-cli is not installed'
  }
}

export interface RedisProc {
  readonly pid: number
  readonly port: number
  readonly url: string
  stop(): Promise<void>
}

const live = new Set<ChildProcess>()
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL')
})

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

/** Starts redis-server and resolves once it answers PING (10 s limit). */
export async function startRedis(): Promise<RedisProc> {
  const missing = redisMissing()
  if (missing) throw new Error(missing)
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'swb-bench-redis-'))
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--protected-mode',
      'no',
    ],
    { stdio: 'ignore' },
  )
  live.add(child)
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  child.once('exit', () => live.delete(child))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break
    try {
      const pong = execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'PING'], {
        encoding: 'utf8',
        timeout: 2000,
        stdio: ['ignore', 'pipe', 'ignore'],
      })
      if (pong.trim() === 'PONG')
        return { pid: child.pid!, port, url: `redis://127.0.0.1:${port}`, stop }
    } catch {}
    await sleep(50)
  }
  await stop()
  throw new Error(`redis-server on port ${port} did not answer PING within 10 s`)
}
