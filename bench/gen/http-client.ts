// A minimal HTTP/1.1 keep-alive client for the load generator: writes pre-built request bytes and
// splits the response stream into responses (Content-Length or chunked bodies). Requests may be
// pipelined; responses are reported in order through the shared sink.
import { CRLFCRLF, GenConn } from './conn.ts'

const LAST_CHUNK = Buffer.from('0\r\n\r\n')

export interface HttpSink {
  onOpen(c: HttpConn): void
  onResponse(c: HttpConn, status: number): void
  onClose(c: HttpConn, reason: string): void
}

/** Builds the bytes of one request. */
export function buildRequest(
  method: string,
  path: string,
  port: number,
  body?: string | Buffer,
): Buffer {
  const b = body === undefined ? undefined : Buffer.from(body)
  const head =
    `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
    (b ? `Content-Type: text/plain\r\nContent-Length: ${b.length}\r\n` : '') +
    '\r\n'
  return b ? Buffer.concat([Buffer.from(head), b]) : Buffer.from(head)
}

export class HttpConn extends GenConn {
  /** Requests written whose response has not arrived. */
  pending = 0
  responses = 0
  /** Free slot for the scenario (e.g. when the last request was sent). */
  mark = 0
  /** Keep the last Content-Length body in `lastBody` (off on the load paths). */
  keepBody = false
  lastBody = ''
  private buf: Buffer | null = null

  constructor(
    port: number,
    readonly sink: HttpSink,
  ) {
    super(port, false)
  }

  protected onConnect(): void {
    this.open = true
    this.sink.onOpen(this)
  }

  protected ended(reason: string): void {
    this.sink.onClose(this, reason)
  }

  send(req: Buffer): void {
    this.pending++
    this.socket.write(req)
  }

  protected onData(chunk: Buffer): void {
    let buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk])
    this.buf = null
    for (;;) {
      const end = buf.indexOf(CRLFCRLF)
      if (end < 0) break
      const head = buf.toString('latin1', 0, end)
      const status = Number(head.slice(9, 12))
      const bodyStart = end + 4
      let next: number
      const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head)
      if (cl) {
        next = bodyStart + Number(cl[1])
        if (next > buf.length) break
        if (this.keepBody) this.lastBody = buf.toString('utf8', bodyStart, next)
      } else if (/\r\ntransfer-encoding:[^\r]*chunked/i.test(head)) {
        const last = buf.indexOf(LAST_CHUNK, bodyStart)
        if (last < 0) break
        next = last + LAST_CHUNK.length
      } else {
        next = bodyStart // no body (e.g. 204/304)
      }
      this.pending--
      this.responses++
      buf = buf.subarray(next)
      this.sink.onResponse(this, status)
      if (buf.length === 0) return
    }
    if (buf.length > 0) this.buf = buf
  }
}
