// Starts and stops Switchboard nodes in child processes: `node-server.ts` for the cluster tests,
// or any script that prints `ready <port>` once it listens (`NodeProcess.run`).
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../..', import.meta.url))
const script = fileURLToPath(new URL('./node-server.ts', import.meta.url))

/** One Switchboard node in its own process, listening on 127.0.0.1:`port`. */
export class NodeProcess {
  readonly child: ChildProcess
  readonly port: number
  /** What the process wrote, for failure messages. */
  output: string

  private constructor(child: ChildProcess, port: number, output: string) {
    this.child = child
    this.port = port
    this.output = output
  }

  /** Spawns a `node-server.ts` node on `redisUrl` and resolves once it prints its ready line. */
  static start(redisUrl: string, timeoutMs = 15_000): Promise<NodeProcess> {
    return NodeProcess.run(script, [redisUrl], timeoutMs)
  }

  /** Spawns `node --import tsx <file> ...args` and resolves once it prints `ready <port>`. */
  static async run(file: string, args: string[], timeoutMs = 15_000): Promise<NodeProcess> {
    // stdin stays a pipe: the node exits when it closes, so it never outlives the test process.
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
      cwd: root,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let out = ''
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`node not ready within ${timeoutMs} ms:\n${out}`))
      }, timeoutMs)
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        const m = /ready (\d+)/.exec(out)
        if (m) {
          clearTimeout(timer)
          resolve(Number(m[1]))
        }
      })
      child.stderr!.on('data', (chunk: Buffer) => {
        out += chunk.toString()
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(new Error(`node exited (${code ?? signal}) before ready:\n${out}`))
      })
    })
    const node = new NodeProcess(child, port, out)
    child.stdout!.on('data', (chunk: Buffer) => {
      node.output += chunk.toString()
    })
    child.stderr!.on('data', (chunk: Buffer) => {
      node.output += chunk.toString()
    })
    return node
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /** SIGTERM, and waits until the process is gone: its exit code, or the signal that ended it. */
  async terminate(): Promise<number | NodeJS.Signals | null> {
    if (this.running) {
      const exited = once(this.child, 'exit')
      process.kill(this.child.pid!, 'SIGTERM')
      await exited
    }
    return this.child.exitCode ?? this.child.signalCode
  }

  /** `kill -9`, and waits until the process is gone. */
  async kill(): Promise<void> {
    if (!this.running) return
    const exited = once(this.child, 'exit')
    process.kill(this.child.pid!, 'SIGKILL')
    await exited
  }
}
