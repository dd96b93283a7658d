// `npm start` in a child process for restart tests: a free port, start (waiting for the listening
// line), stop with a signal. The data directory is the caller's (a temp dir it removes).
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** A port nothing listens on now, so every restart can take the same one. */
export async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const { port } = probe.address() as { port: number }
  probe.close()
  await once(probe, 'close')
  return port
}

/** One `npm start` process and everything it printed. */
export interface ShowcaseProcess {
  readonly child: ChildProcess
  readonly output: () => string
}

/** Runs `npm start` on `port` with its data in `dataDir`, and waits for its listening line. */
export async function startShowcase(
  port: number,
  dataDir: string,
  timeoutMs = 60_000,
): Promise<ShowcaseProcess> {
  const child = spawn(process.execPath, ['scripts/start.mjs'], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      SWITCHBOARD_DATA_DIR: dataDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stderr!.on('data', (c: Buffer) => {
    out += c.toString()
  })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`no listening line within ${timeoutMs} ms:\n${out}`))
    }, timeoutMs)
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString()
      if (out.includes(`listening on http://localhost:${port}`)) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`exited with ${code} before listening:\n${out}`))
    })
  })
  return { child, output: () => out }
}

/** Stops the process with `signal` (SIGKILL after 15 s: a loaded machine can take seconds to
 * close pages and flush) and resolves with how it exited. */
export async function stopShowcase(
  server: ShowcaseProcess,
  signal: 'SIGTERM' | 'SIGKILL',
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const { child } = server
  if (child.exitCode !== null || child.signalCode !== null) {
    return { code: child.exitCode, signal: child.signalCode }
  }
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  child.kill(signal)
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  const [code, sig] = await exited
  clearTimeout(timer)
  return { code, signal: sig }
}
