// The socket lifecycle the generator's clients share: a loopback connection with Nagle off that
// reports its end exactly once, whether the server closed it, it failed, or the scenario
// destroyed it. Subclasses parse what arrives and tell their sink.
import { connect, type Socket } from 'node:net'

export const CRLFCRLF = Buffer.from('\r\n\r\n')

// Connections that read with net's `onread` share this buffer: no allocation and no stream
// machinery per read. Reads are processed synchronously, so only leftovers are copied out.
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024)

export abstract class GenConn {
  readonly socket: Socket
  open = false
  closed = false
  /** Which server node this connection talks to (cluster runs; 0 is the publisher's). */
  node = 0

  /** `sharedRead`: read into the shared buffer (`onread`) instead of 'data' events. */
  constructor(port: number, sharedRead: boolean) {
    this.socket = connect({
      host: '127.0.0.1',
      port,
      noDelay: true,
      ...(sharedRead
        ? {
            onread: {
              buffer: READ_BUFFER,
              callback: (n: number) => {
                this.onData(READ_BUFFER.subarray(0, n))
                return true
              },
            },
          }
        : null),
    })
    if (!sharedRead) this.socket.on('data', (chunk: Buffer) => this.onData(chunk))
    this.socket.on('connect', () => this.onConnect())
    this.socket.on('error', (err) => this.finish(err.message))
    this.socket.on('close', () => this.finish('closed by server'))
  }

  destroy(): void {
    this.closed = true
    this.socket.destroy()
  }

  /** Reports the end once (to the sink, through `ended`). */
  protected finish(reason: string): void {
    if (this.closed) return
    this.closed = true
    this.ended(reason)
  }

  /** Ends the connection for a protocol error. */
  protected fail(reason: string): void {
    this.finish(reason)
    this.socket.destroy()
  }

  protected abstract onConnect(): void
  protected abstract onData(chunk: Buffer): void
  protected abstract ended(reason: string): void
}
