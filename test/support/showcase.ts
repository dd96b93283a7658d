// The showcase as the browser tests use it: the served client bundle, the showcase in a child
// process on the durable broker (restarted on the same port and data dir with SIGTERM or kill
// -9), headless Chromium, and the figures of a latency run.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium } from 'playwright-core'
import { CHROMIUM, CHROMIUM_ARGS } from './chromium.ts'
import { ensureClientBundle } from './served-bundle.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))

export { ensureClientBundle }

/** Headless Chromium with the flags of a machine without outside network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] })
}

/** A port nothing listens on now, so every restart can take the same one. */
export async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const { port } = probe.address() as { port: number }
  probe.close()
  await once(probe, 'close')
  return port
}

/**
 * The showcase (examples/showcase/main.ts, what `npm start` runs) in a child process on one port
 * and one data dir, so it can be stopped with a signal and started again where it was.
 */
export class ShowcaseProcess {
  readonly port: number
  readonly dataDir: string
  readonly #env: Record<string, string>
  #child: ChildProcess | null = null
  #output = ''

  private constructor(port: number, dataDir: string, env: Record<string, string>) {
    this.port = port
    this.dataDir = dataDir
    this.#env = env
  }

  /** Starts the showcase on a free port with its data in a new temp dir. */
  static async start(env: Record<string, string> = {}): Promise<ShowcaseProcess> {
    ensureClientBundle()
    const dir = mkdtempSync(join(tmpdir(), 'swb-showcase-'))
    const server = new ShowcaseProcess(await freePort(), dir, env)
    await server.restart()
    return server
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** Everything the current process printed. */
  get output(): string {
    return this.#output
  }

  /** Starts the process (again) and resolves once it prints its listening line. */
  async restart(timeoutMs = 30_000): Promise<void> {
    assert.equal(this.#child, null, 'the showcase is still running')
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/showcase/main.ts'], {
      cwd: root,
      env: {
        ...process.env,
        PORT: String(this.port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        SWITCHBOARD_DATA_DIR: join(this.dataDir, 'data'),
        ...this.#env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.#child = child
    this.#output = ''
    // A test file stopped from outside (the runner's timeout) must not leave the server running.
    const orphan = () => child.kill('SIGKILL')
    process.once('exit', orphan)
    child.once('exit', () => process.off('exit', orphan))
    child.stderr!.on('data', (c: Buffer) => {
      this.#output += c.toString()
    })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`no listening line within ${timeoutMs} ms:\n${this.#output}`))
      }, timeoutMs)
      child.stdout!.on('data', (c: Buffer) => {
        this.#output += c.toString()
        if (this.#output.includes(`listening on http://localhost:${this.port}`)) {
          clearTimeout(timer)
          resolve()
        }
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        this.#child = null
        reject(new Error(`exited with ${code} before listening:\n${this.#output}`))
      })
    })
  }

  /** Stops the process with `signal` and resolves with how it exited. */
  async stop(
    signal: 'SIGTERM' | 'SIGKILL',
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = this.#child
    if (child === null) return { code: null, signal: null }
    this.#child = null
    if (child.exitCode !== null || child.signalCode !== null) {
      return { code: child.exitCode, signal: child.signalCode }
    }
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
    child.kill(signal)
    // SIGTERM drains first: sessions are moved off in paced batches over a 10 s window.
    const timer = setTimeout(() => child.kill('SIGKILL'), signal === 'SIGTERM' ? 30_000 : 5_000)
    const [code, sig] = await exited
    clearTimeout(timer)
    return { code, signal: sig }
  }

  /** Stops the process with `signal`, checks it exited the way that signal should. */
  async stopWith(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const exited = await this.stop(signal)
    if (signal === 'SIGTERM') assert.deepEqual(exited, { code: 0, signal: null })
    else assert.deepEqual(exited, { code: null, signal: 'SIGKILL' })
  }

  /** Kills the process if it runs and removes the data dir. */
  async dispose(): Promise<void> {
    await this.stop('SIGKILL')
    rmSync(this.dataDir, { recursive: true, force: true })
  }
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  assert.ok(values.length > 0, 'no values')
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}
