// The soak's channel clients: lean WebSocket and SSE readers of protocol v1 that follow one
// channel and count, per connection, the publications that arrived, the offsets that did not
// (a hole between two deliveries, or a tail the channel reached but the client never saw), and
// whether the server ever told the client it fell behind (a `gap` push, or a close by the server).
import { CRLFCRLF, GenConn } from '../gen/conn.ts'
import { clientFrame } from '../gen/ws-client.ts'

const KEY = 'dGhlIHNhbXBsZSBub25jZQ=='
const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='

/** What every soak client reports to; one instance per load generator. */
export interface SoakSink {
  onOpen(c: SoakClient): void
  onClose(c: SoakClient, reason: string): void
  /** One publication of `c`'s channel at `offset`; `sentMs` is the publisher's stamp (-1: none). */
  onPublication(c: SoakClient, offset: number, sentMs: number): void
  /** A reply to a command this client sent (publishers only). */
  onReply(c: SoakClient, text: string): void
}

/** Offset bookkeeping shared by both transports. */
export interface SoakClient {
  readonly channel: string
  /** Offset of the last publication seen (or the subscribe answer's top); -1 before subscribing. */
  last: number
  delivered: number
  /** Offsets that never arrived between two that did. */
  lost: number
  /** The server said this client fell behind (gap push, slow-consumer close). */
  behind: boolean
  open: boolean
  closed: boolean
  /** We closed it (churn, end of run). */
  byUs: boolean
  /** Ends the connection from our side (churn, end of run): `graceful` sends a close frame. */
  leave(graceful: boolean): void
  send?(command: string): void
}

/** Counts a publication against the client's last offset. */
function advance(c: SoakClient, sink: SoakSink, offset: number, sentMs: number): void {
  if (c.last >= 0 && offset > c.last + 1) c.lost += offset - c.last - 1
  if (offset > c.last) c.last = offset
  c.delivered++
  sink.onPublication(c, offset, sentMs)
}

/** The publisher's stamp `"t":<ms>` inside a publication's data, or -1. */
function stampOf(text: string, from: number): number {
  const at = text.indexOf('"t":', from)
  if (at < 0) return -1
  return Number.parseFloat(text.slice(at + 4, at + 24))
}

export class SoakWs extends GenConn implements SoakClient {
  last = -1
  delivered = 0
  lost = 0
  behind = false
  byUs = false
  private handshaking = true
  private rest: Buffer | null = null
  private readonly hello: Buffer

  constructor(
    port: number,
    readonly channel: string,
    readonly sink: SoakSink,
    readonly publisher = false,
  ) {
    super(port, true)
    const cmds = [`{"id":1,"type":"connect"}`]
    if (!publisher) cmds.push(`{"id":2,"type":"subscribe","channel":"${channel}"}`)
    this.hello = Buffer.concat(cmds.map((c) => clientFrame(Buffer.from(c))))
  }

  send(command: string): void {
    this.socket.write(clientFrame(Buffer.from(command)))
  }

  leave(graceful: boolean): void {
    this.byUs = true
    if (graceful && this.open) {
      this.closed = true
      this.socket.end(clientFrame(Buffer.from([0x03, 0xe8]), 0x8))
      setTimeout(() => this.socket.destroy(), 2000).unref()
    } else super.destroy()
  }

  protected onConnect(): void {
    this.socket.write(
      `GET /switchboard HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    )
  }

  protected ended(reason: string): void {
    if (!this.byUs) this.behind = true // the server closed a client that stayed: a loss of service
    this.sink.onClose(this, reason)
  }

  protected onData(chunk: Buffer): void {
    let buf = this.rest === null ? chunk : Buffer.concat([this.rest, chunk])
    this.rest = null
    if (this.handshaking) {
      const end = buf.indexOf(CRLFCRLF)
      if (end < 0) {
        this.rest = Buffer.from(buf)
        return
      }
      const head = buf.toString('latin1', 0, end)
      if (!head.startsWith('HTTP/1.1 101') || !head.includes(ACCEPT)) {
        this.fail(`handshake refused: ${head.split('\r\n')[0]}`)
        return
      }
      this.handshaking = false
      buf = buf.subarray(end + 4)
      this.socket.write(this.hello)
    }
    let off = 0
    const len = buf.length
    while (len - off >= 2) {
      let plen = buf[off + 1]! & 0x7f
      let hdr = 2
      if (plen === 126) {
        if (len - off < 4) break
        plen = buf.readUInt16BE(off + 2)
        hdr = 4
      } else if (plen === 127) {
        if (len - off < 10) break
        plen = buf.readUInt32BE(off + 6)
        hdr = 10
      }
      if (len - off < hdr + plen) break
      const op = buf[off]! & 0x0f
      const start = off + hdr
      off = start + plen
      if (op === 0x1) this.onText(buf.toString('utf8', start, off))
      else if (op === 0x9) this.socket.write(clientFrame(buf.subarray(start, off), 0xa))
      else if (op === 0x8) {
        const code = plen >= 2 ? buf.readUInt16BE(start) : 1005
        this.finish(`close ${code}`)
        this.socket.destroy()
        return
      }
    }
    if (off < len) this.rest = Buffer.from(buf.subarray(off))
  }

  private onText(text: string): void {
    if (text.charCodeAt(0) === 0x5b /* [ */) {
      // A compact publication: ["channel",offset,data(,extras)]; names hold no '"' or ','.
      const comma = text.indexOf(',', this.channel.length + 3)
      const next = text.indexOf(',', comma + 1)
      advance(this, this.sink, Number(text.slice(comma + 1, next)), stampOf(text, next))
      return
    }
    if (text.startsWith('{"id":')) {
      if (this.publisher) {
        if (!this.open) this.becomeOpen()
        else this.sink.onReply(this, text)
        return
      }
      if (text.includes('"error"')) {
        this.fail(`refused: ${text.slice(0, 200)}`)
        return
      }
      if (text.startsWith('{"id":2,')) {
        const m = /"offset":(\d+)/.exec(text)
        this.last = m ? Number(m[1]) : 0
        this.becomeOpen()
      }
      return
    }
    if (text.includes('"type":"gap"')) this.behind = true
  }

  private becomeOpen(): void {
    this.open = true
    this.sink.onOpen(this)
  }
}

enum Chunk {
  Size = 0,
  Data = 1,
  DataEnd = 2,
}

export class SoakSse extends GenConn implements SoakClient {
  last = -1
  delivered = 0
  lost = 0
  behind = false
  byUs = false
  private head: Buffer | null = Buffer.alloc(0)
  private chunked = false
  private chunkState = Chunk.Size
  private chunkLeft = 0
  private sizeLine = ''
  private text = ''

  constructor(
    private readonly port: number,
    readonly channel: string,
    readonly sink: SoakSink,
  ) {
    super(port, true)
  }

  leave(_graceful: boolean): void {
    this.byUs = true
    super.destroy()
  }

  protected onConnect(): void {
    this.socket.write(
      `GET /switchboard?channel=${this.channel} HTTP/1.1\r\nHost: 127.0.0.1:${this.port}\r\n` +
        'Accept: text/event-stream\r\n\r\n',
    )
  }

  protected ended(reason: string): void {
    if (!this.byUs) this.behind = true
    this.sink.onClose(this, reason)
  }

  protected onData(chunk: Buffer): void {
    if (this.head !== null) {
      const buf = this.head.length === 0 ? chunk : Buffer.concat([this.head, chunk])
      const end = buf.indexOf(CRLFCRLF)
      if (end < 0) {
        this.head = Buffer.from(buf)
        return
      }
      const head = buf.toString('latin1', 0, end).toLowerCase()
      if (!head.startsWith('http/1.1 200') || !head.includes('text/event-stream')) {
        this.fail(`not an event stream: ${head.split('\r\n')[0]}`)
        return
      }
      this.chunked = /\r\ntransfer-encoding:[^\r]*chunked/.test(head)
      this.head = null
      chunk = buf.subarray(end + 4)
    }
    if (this.chunked) this.dechunk(chunk)
    else this.text += chunk.toString('utf8')
    this.events()
  }

  /** Undoes chunked transfer-encoding into `this.text`. */
  private dechunk(buf: Buffer): void {
    let off = 0
    const len = buf.length
    while (off < len) {
      if (this.chunkState === Chunk.Data) {
        const n = Math.min(this.chunkLeft, len - off)
        this.text += buf.toString('utf8', off, off + n)
        off += n
        this.chunkLeft -= n
        if (this.chunkLeft === 0) this.chunkState = Chunk.DataEnd
      } else if (this.chunkState === Chunk.Size) {
        const lf = buf.indexOf(0x0a, off)
        if (lf < 0) {
          this.sizeLine += buf.toString('latin1', off, len)
          return
        }
        this.sizeLine += buf.toString('latin1', off, lf)
        off = lf + 1
        const size = Number.parseInt(this.sizeLine, 16)
        this.sizeLine = ''
        if (size === 0) return
        this.chunkLeft = size
        this.chunkState = Chunk.Data
      } else {
        if (buf[off] === 0x0a) this.chunkState = Chunk.Size
        off++
      }
    }
  }

  /** Handles every complete event in `this.text` (blocks end with a blank line). */
  private events(): void {
    let from = 0
    for (;;) {
      const end = this.text.indexOf('\n\n', from)
      if (end < 0) break
      const block = this.text.slice(from, end)
      from = end + 2
      const ev = /^event: (\w+)$/m.exec(block)?.[1]
      if (ev === 'publication') {
        const m = /"offset":(\d+)/.exec(block)
        if (m) advance(this, this.sink, Number(m[1]), stampOf(block, m.index))
      } else if (ev === 'subscribe') {
        this.last = Number(/"offset":(\d+)/.exec(block)?.[1] ?? 0)
        this.open = true
        this.sink.onOpen(this)
      } else if (ev === 'gap') this.behind = true
      else if (ev === 'disconnect') this.behind = true
    }
    this.text = from === 0 ? this.text : this.text.slice(from)
  }
}
