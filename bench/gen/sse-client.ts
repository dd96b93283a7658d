// A minimal Server-Sent Events reader for the load generator: one GET over a raw socket, the
// response head checked for 200 + text/event-stream, chunked transfer-encoding undone, and events
// counted by their blank-line terminator ("\n\n") with Buffer.indexOf, so the generator does not
// walk the stream byte by byte. A block of comment lines only (heartbeat, padding) is not
// counted. Streams are expected to use LF line ends (what every peer here writes).
import { CRLFCRLF, GenConn } from './conn.ts'
import { countMarks } from './ws-client.ts'

const LFLF = Buffer.from('\n\n')
const LF = 0x0a
const COLON = 0x3a

export interface SseSink {
  delivered: number
  wantPayload: boolean
  onOpen(c: SseClient): void
  /** One event block; `buf[start, end)` may be only its tail when it spanned two reads. */
  onMessage(c: SseClient, buf: Buffer, start: number, end: number): void
  onClose(c: SseClient, reason: string): void
  /** Called once after each read from any connection has been processed. */
  onData(): void
}

enum Chunk {
  Size = 0,
  Data = 1,
  DataEnd = 2,
  Done = 3,
}

export class SseClient extends GenConn {
  messages = 0
  private head: Buffer | null = Buffer.alloc(0)
  private chunked = false
  private chunkState = Chunk.Size
  private chunkLeft = 0
  private sizeLine = ''
  // Event-boundary state carried across segments.
  private lastWasLF = false
  private lastWasQuote = false
  private atBlockStart = true
  /** Whether the current block has a field line (it is an event, not only comments). */
  private blockHasField = false
  private readonly request: string

  /**
   * @param markers count benchmark payloads (`"~` inside JSON data) instead of events, for
   *   channel streams whose events also carry non-publication frames.
   */
  constructor(
    port: number,
    path: string,
    readonly sink: SseSink,
    readonly markers = false,
  ) {
    super(port, true)
    this.request = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`
  }

  protected onConnect(): void {
    this.socket.write(this.request)
  }

  protected ended(reason: string): void {
    this.sink.onClose(this, reason)
  }

  protected onData(chunk: Buffer): void {
    if (this.head !== null) {
      const buf = this.head.length === 0 ? chunk : Buffer.concat([this.head, chunk])
      const end = buf.indexOf(CRLFCRLF)
      if (end < 0) {
        if (buf.length > 16384) this.fail('response head too large')
        else this.head = Buffer.from(buf)
        return
      }
      const head = buf.toString('latin1', 0, end).toLowerCase()
      if (!head.startsWith('http/1.1 200') || !head.includes('text/event-stream')) {
        this.fail(`not an event stream: ${head.split('\r\n')[0]}`)
        return
      }
      this.chunked = /\r\ntransfer-encoding:[^\r]*chunked/.test(head)
      this.head = null
      this.open = true
      this.sink.onOpen(this)
      chunk = buf.subarray(end + 4)
    }
    if (this.chunked) this.dechunk(chunk)
    else this.scan(chunk, 0, chunk.length)
    this.sink.onData()
  }

  private dechunk(buf: Buffer): void {
    let off = 0
    const len = buf.length
    while (off < len) {
      if (this.chunkState === Chunk.Data) {
        const n = Math.min(this.chunkLeft, len - off)
        this.scan(buf, off, off + n)
        off += n
        this.chunkLeft -= n
        if (this.chunkLeft === 0) this.chunkState = Chunk.DataEnd
      } else if (this.chunkState === Chunk.Size) {
        const lf = buf.indexOf(LF, off)
        if (lf < 0) {
          this.sizeLine += buf.toString('latin1', off, len)
          return
        }
        this.sizeLine += buf.toString('latin1', off, lf)
        off = lf + 1
        const size = Number.parseInt(this.sizeLine, 16)
        this.sizeLine = ''
        if (!Number.isFinite(size)) {
          this.fail('bad chunk size')
          return
        }
        if (size === 0) {
          this.chunkState = Chunk.Done
          return
        }
        this.chunkLeft = size
        this.chunkState = Chunk.Data
      } else if (this.chunkState === Chunk.DataEnd) {
        // Skip the CRLF after a chunk's data (it may arrive split across reads).
        if (buf[off] === LF) this.chunkState = Chunk.Size
        off++
      } else return
    }
  }

  /** Counts event terminators in the de-chunked bytes `buf[start, end)`. */
  private scan(buf: Buffer, start: number, end: number): void {
    if (start >= end) return
    if (this.markers) {
      // A marker split across segments: '"' ended the last one, '~' starts this one.
      const k = countMarks(buf, start, end) + (this.lastWasQuote && buf[start] === 0x7e ? 1 : 0)
      this.messages += k
      this.sink.delivered += k
      this.lastWasQuote = buf[end - 1] === 0x22
      if (!this.sink.wantPayload) return
    }
    let pos = start
    if (this.lastWasLF) {
      if (buf[pos] === LF) {
        // A terminator split across segments: the last one ended in LF, this one starts with LF.
        this.endBlock(buf, pos, pos)
        pos++
        this.atBlockStart = true
      } else if (buf[pos] !== COLON) this.blockHasField = true // a field line starts right here
    }
    while (pos < end) {
      if (this.atBlockStart) {
        this.blockHasField = buf[pos] !== COLON
        this.atBlockStart = false
      }
      const at = buf.indexOf(LFLF, pos)
      const stop = at < 0 || at + 2 > end ? end : at
      // Only comment lines so far: look for a later line that is a field.
      if (!this.blockHasField && hasFieldLine(buf, pos, stop)) this.blockHasField = true
      if (stop === end) break
      this.endBlock(buf, pos, at)
      pos = at + 2
      this.atBlockStart = true
    }
    this.lastWasLF = !this.atBlockStart && buf[end - 1] === LF
  }

  private endBlock(buf: Buffer, start: number, end: number): void {
    // A block of comment lines only (heartbeat, padding) is not an event.
    if (!this.blockHasField) return
    if (this.markers) {
      this.sink.onMessage(this, buf, start, end) // latency only; counted in scan()
      return
    }
    this.messages++
    this.sink.delivered++
    if (this.sink.wantPayload) this.sink.onMessage(this, buf, start, end)
  }
}

/** Whether `buf[start, end)` has a line after the first that is not a comment. */
function hasFieldLine(buf: Buffer, start: number, end: number): boolean {
  let at = buf.indexOf(LF, start)
  while (at >= 0 && at + 1 < end) {
    if (buf[at + 1] !== COLON && buf[at + 1] !== LF) return true
    at = buf.indexOf(LF, at + 1)
  }
  return false
}
