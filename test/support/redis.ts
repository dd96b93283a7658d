// Real Redis servers for tests: one redis-server, or a Redis Cluster made with
// `redis-cli --cluster create`, each on free loopback ports in a temporary directory.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

function which(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/**
 * Why a Redis suite must skip (redis-server is not installed), or false when it can run. Under
 * `CI=true` a missing server is an error, never a skip.
 */
export function redisSkipReason(): string | false {
  if (which('redis-server') && which('redis-cli')) return false
  if (process.env.CI === 'true') {
    throw new Error('redis-server or redis-cli is missing; CI must install redis-server')
  }
  return 'redis-server is not installed'
}

/** A free TCP port on loopback; with `bus`, port + 10000 is free too (a cluster node's bus). */
export async function freePort(bus = false): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = bus ? 20_000 + Math.floor(Math.random() * 30_000) : await ephemeral()
    if (!bus) return port
    if ((await canBind(port)) && (await canBind(port + 10_000))) return port
  }
  throw new Error('no free port pair found')
}

function ephemeral(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => resolve(port))
    })
  })
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer()
    srv.once('error', () => resolve(false))
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
  })
}

/** One redis-server process on a loopback port. */
export class RedisServer {
  readonly port: number
  readonly dir: string
  readonly #extra: string[]
  #proc: ChildProcess | null = null

  private constructor(port: number, dir: string, extra: string[]) {
    this.port = port
    this.dir = dir
    this.#extra = extra
  }

  /** Starts a server with no persistence (a restart loses its data). */
  static async start(extra: string[] = []): Promise<RedisServer> {
    const server = new RedisServer(
      await freePort(extra.includes('--cluster-enabled')),
      mkdtempSync(join(tmpdir(), 'swb-redis-')),
      extra,
    )
    await server.restart()
    return server
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  get pid(): number | undefined {
    return this.#proc?.pid
  }

  /** Starts the process again on the same port (after `kill`), and waits until it answers. */
  async restart(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      this.dir,
      '--protected-mode',
      'no',
      ...this.#extra,
    ]
    const proc = spawn('redis-server', args, { stdio: 'ignore' })
    this.#proc = proc
    await this.waitReady()
  }

  async waitReady(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      try {
        if (this.cli('PING').trim() === 'PONG') return
      } catch {}
      await sleep(50)
    }
    throw new Error(`redis-server on ${this.port} did not start`)
  }

  /** Runs one redis-cli command against this server and returns its output. */
  cli(...args: string[]): string {
    return execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(this.port), ...args], {
      encoding: 'utf8',
      timeout: 5_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
  }

  /** Kills the process with SIGKILL (its data is gone: no persistence) and waits for it. */
  async kill(): Promise<void> {
    const proc = this.#proc
    this.#proc = null
    if (proc === null || proc.exitCode !== null) return
    const exited = new Promise((r) => proc.once('exit', r))
    proc.kill('SIGKILL')
    await exited
  }

  /** Pauses the process (SIGSTOP): connections stay open, nothing answers. */
  pause(): void {
    this.#proc?.kill('SIGSTOP')
  }

  resume(): void {
    this.#proc?.kill('SIGCONT')
  }

  async stop(): Promise<void> {
    this.resume()
    await this.kill()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** A Redis Cluster of `masters` masters, each with `replicas` replicas. */
export class RedisCluster {
  readonly nodes: RedisServer[]

  private constructor(nodes: RedisServer[]) {
    this.nodes = nodes
  }

  static async start(masters = 3, replicas = 0): Promise<RedisCluster> {
    const count = masters * (1 + replicas)
    const nodes = await Promise.all(
      Array.from({ length: count }, () =>
        RedisServer.start([
          '--cluster-enabled',
          'yes',
          '--cluster-node-timeout',
          '2000',
          '--repl-diskless-sync-delay',
          '0',
          '--cluster-config-file',
          'nodes.conf',
        ]),
      ),
    )
    const cluster = new RedisCluster(nodes)
    execFileSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { stdio: 'ignore', timeout: 30_000 },
    )
    await cluster.waitOk()
    if (replicas > 0) await cluster.waitReplicasInSync()
    return cluster
  }

  /** The URLs a client can start from. */
  get urls(): string[] {
    return this.nodes.map((n) => n.url)
  }

  /** Waits until every live node reports `cluster_state:ok` and knows every slot. */
  async waitOk(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      let ok = true
      for (const n of this.nodes) {
        if (n.pid === undefined) continue
        try {
          const info = n.cli('CLUSTER', 'INFO')
          if (!info.includes('cluster_state:ok') || !info.includes('cluster_slots_ok:16384'))
            ok = false
        } catch {
          ok = false
        }
      }
      if (ok) return
      await sleep(100)
    }
    throw new Error('the Redis Cluster did not reach cluster_state:ok')
  }

  /** Waits until every live replica has its link to its master up (so it may fail over). */
  async waitReplicasInSync(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const down = this.nodes.filter((n) => {
        if (n.pid === undefined) return false
        const info = n.cli('INFO', 'replication')
        return info.includes('role:slave') && !info.includes('master_link_status:up')
      })
      if (down.length === 0) return
      if (Date.now() > deadline) throw new Error(`replicas not in sync: ${down.map((n) => n.port)}`)
      await sleep(100)
    }
  }

  /** The nodes that are masters now, by `ROLE`. */
  masters(): RedisServer[] {
    return this.nodes.filter((n) => n.pid !== undefined && n.cli('ROLE').startsWith('master'))
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()))
  }
}
