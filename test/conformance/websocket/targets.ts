/**
 * Starts the conformance targets as child processes: our testee (scripts/testee.ts) and the `ws`
 * control. Each prints one line "... listening on ws://127.0.0.1:PORT/" that gives the port.
 *
 * @example
 * const target = await startTarget('ws'); ...; await target.stop()
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import { fileURLToPath } from 'node:url'

export type TargetName = 'switchboard' | 'ws'

export interface Target {
  name: TargetName
  port: number
  child: ChildProcess
  /** Whether the process is still running (a crash fails the suite). */
  alive(): boolean
  stop(): Promise<void>
  stderr(): string
}

const root = fileURLToPath(new URL('../../../', import.meta.url))
/** Our testee; CONFORMANCE_TESTEE may point at another script (for debugging a variant). */
export const TESTEE = process.env.CONFORMANCE_TESTEE ?? 'scripts/testee.ts'

export function testeeExists(): boolean {
  return existsSync(isAbsolute(TESTEE) ? TESTEE : `${root}${TESTEE}`)
}

export function startTarget(name: TargetName, timeoutMs = 15000): Promise<Target> {
  const script = name === 'ws' ? 'test/conformance/websocket/control-server.ts' : TESTEE
  const child = spawn(process.execPath, ['--import', 'tsx', script, '--port', '0'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  let exited = false
  child.on('exit', () => {
    exited = true
  })
  child.stderr!.on('data', (c: Buffer) => {
    if (err.length < 20000) err += c.toString()
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(
        new Error(`${name} did not print its listening line within ${timeoutMs} ms: ${out}${err}`),
      )
    }, timeoutMs)
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited with ${code} before listening: ${err}`))
    })
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString()
      const match = /listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(out)
      if (!match) return
      clearTimeout(timer)
      resolve({
        name,
        port: Number(match[1]),
        child,
        alive: () => !exited,
        stderr: () => err,
        stop: () =>
          new Promise<void>((done) => {
            if (exited) return done()
            const force = setTimeout(() => child.kill('SIGKILL'), 2000)
            child.once('exit', () => {
              clearTimeout(force)
              done()
            })
            child.kill('SIGTERM')
          }),
      })
    })
  })
}
