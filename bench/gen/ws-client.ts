// A minimal client-side WebSocket (RFC 6455) for the load generator: one fixed handshake, a frame
// reader that counts messages without copying them, masked client frames, ping -> pong, and the
// few Engine.IO/Socket.IO packets needed to speak to a Socket.IO server over its websocket
// transport. It is deliberately tiny so the generator costs less CPU than the servers it measures.
import { randomBytes } from 'node:crypto'
import { CRLFCRLF, GenConn } from './conn.ts'
import { PAYLOAD_HEAD } from './payload.ts'

// A fixed key: every connection expects the same Sec-WebSocket-Accept (RFC 6455 §4.1 example).
const KEY = 'dGhlIHNhbXBsZSBub25jZQ=='
const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='

/**
 * `ws`: every data message is one delivery. `socketio`: Engine.IO/Socket.IO packets, EVENT
 * packets are deliveries. `channel`: Switchboard protocol v1 (JSON): connect + subscribe to
 * `bench:all` first; then every benchmark payload inside a message is one delivery (a server may
 * batch several publications into one frame).
 */
export type WsFlavor = 'ws' | 'socketio' | 'channel'

/** The channel every `channel` client subscribes to. */
export const BENCH_CHANNEL = 'bench:all'

/** What a scenario does with connections; one sink is shared by every connection. */
export interface WsSink {
  /** Counted data messages (for Socket.IO: event packets) across all connections. */
  delivered: number
  /** When true, `onMessage` is called with each data message's bytes. */
  wantPayload: boolean
  onOpen(c: WsClient): void
  onMessage(c: WsClient, buf: Buffer, start: number, end: number): void
  onClose(c: WsClient, reason: string): void
  /** Called once after each read from any connection has been processed. */
  onData(): void
}

/** Builds a masked client frame (FIN set) around `payload`. */
export function clientFrame(payload: Buffer, opcode = 0x1, mask = randomBytes(4)): Buffer {
  const n = payload.length
  const hdr = n < 126 ? 2 : n < 65536 ? 4 : 10
  const out = Buffer.allocUnsafe(hdr + 4 + n)
  out[0] = 0x80 | opcode
  if (n < 126) out[1] = 0x80 | n
  else if (n < 65536) {
    out[1] = 0x80 | 126
    out.writeUInt16BE(n, 2)
  } else {
    out[1] = 0x80 | 127
    out.writeUInt32BE(Math.floor(n / 2 ** 32), 2)
    out.writeUInt32BE(n >>> 0, 6)
  }
  mask.copy(out, hdr)
  for (let i = 0; i < n; i++) out[hdr + 4 + i] = payload[i]! ^ mask[i & 3]!
  return out
}

const SIO_CONNECT = clientFrame(Buffer.from('40'))
const SIO_PONG = clientFrame(Buffer.from('3'))
const CHANNEL_HELLO = Buffer.concat([
  clientFrame(Buffer.from('{"id":1,"type":"connect"}')),
  clientFrame(Buffer.from(`{"id":2,"type":"subscribe","channel":"${BENCH_CHANNEL}"}`)),
])

/**
 * Occurrences of `"~` (a payload opening a JSON string) in `buf[start, end)`. Searches the single
 * byte `~` (memchr; a two-byte needle took a third of the generator's CPU) and skips the rest of
 * the payload head, whose other two `~` are not marks.
 */
export function countMarks(buf: Buffer, start: number, end: number): number {
  let n = 0
  let at = buf.indexOf(TILDE, start + 1)
  while (at >= 0 && at < end) {
    if (buf[at - 1] === QUOTE) {
      n++
      at += PAYLOAD_HEAD
    } else at++
    at = buf.indexOf(TILDE, at)
  }
  return n
}
const TILDE = 0x7e
const QUOTE = 0x22

export class WsClient extends GenConn {
  /** Data messages this connection received. */
  messages = 0
  /** Free slot for the scenario (e.g. the time an echo was sent). */
  mark = 0
  /** Free slot for the scenario (e.g. this connection's pre-built frame). */
  frame: Buffer | null = null
  private handshaking = true
  private rest: Buffer | null = null
  private readonly upgrade: string

  constructor(
    port: number,
    path: string,
    readonly flavor: WsFlavor,
    readonly sink: WsSink,
  ) {
    super(port, true)
    this.upgrade =
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`
  }

  send(frame: Buffer): void {
    this.socket.write(frame)
  }

  protected onConnect(): void {
    this.socket.write(this.upgrade)
  }

  protected ended(reason: string): void {
    this.sink.onClose(this, reason)
  }

  protected onData(chunk: Buffer): void {
    let buf = this.rest === null ? chunk : Buffer.concat([this.rest, chunk])
    this.rest = null
    if (this.handshaking) {
      const end = buf.indexOf(CRLFCRLF)
      if (end < 0) {
        if (buf.length > 8192) this.fail('handshake response too large')
        else this.rest = Buffer.from(buf)
        return
      }
      const head = buf.toString('latin1', 0, end)
      if (!head.startsWith('HTTP/1.1 101') || !head.includes(ACCEPT)) {
        this.fail(`handshake refused: ${head.split('\r\n')[0]}`)
        return
      }
      this.handshaking = false
      buf = buf.subarray(end + 4)
      this.afterHandshake()
    }
    this.parse(buf)
    this.sink.onData()
  }

  /** The upgrade was accepted: a plain client is open, a channel client says hello first. */
  protected afterHandshake(): void {
    if (this.flavor === 'ws') this.becomeOpen()
    else if (this.flavor === 'channel') this.socket.write(CHANNEL_HELLO)
  }

  protected becomeOpen(): void {
    this.open = true
    this.sink.onOpen(this)
  }

  private parse(buf: Buffer): void {
    const len = buf.length
    let off = 0
    while (len - off >= 2) {
      const b0 = buf[off]!
      const b1 = buf[off + 1]!
      let plen = b1 & 0x7f
      let hdr = 2
      if (plen === 126) {
        if (len - off < 4) break
        plen = buf.readUInt16BE(off + 2)
        hdr = 4
      } else if (plen === 127) {
        if (len - off < 10) break
        plen = buf.readUInt32BE(off + 2) * 2 ** 32 + buf.readUInt32BE(off + 6)
        hdr = 10
      }
      if (b1 & 0x80) hdr += 4 // servers must not mask; tolerate it by skipping the key
      if (len - off < hdr + plen) break
      const start = off + hdr
      off = start + plen
      const op = b0 & 0x0f
      if (op < 0x3) {
        if (b0 & 0x80) this.onMessage(buf, start, off)
      } else if (op === 0x9) {
        this.socket.write(clientFrame(buf.subarray(start, off), 0xa))
      } else if (op === 0x8) {
        this.socket.end(clientFrame(buf.subarray(start, Math.min(off, start + 2)), 0x8))
        this.finish('close frame from server')
        return
      }
    }
    if (off < len) this.rest = Buffer.from(buf.subarray(off))
  }

  /** One complete data message, `buf[start, end)` (a view: copy what must outlive the call). */
  protected onMessage(buf: Buffer, start: number, end: number): void {
    if (this.flavor === 'channel') {
      if (!this.open) {
        this.channelReply(buf.toString('utf8', start, end))
        return
      }
      const k = countMarks(buf, start, end)
      if (k === 0) return
      this.messages += k
      this.sink.delivered += k
      if (this.sink.wantPayload) this.sink.onMessage(this, buf, start, end)
      return
    }
    if (this.flavor === 'socketio') {
      // Engine.IO packet type, then (for type 4 'message') the Socket.IO packet type.
      const eio = buf[start]
      if (eio === 0x34 /* 4 */) {
        const sio = buf[start + 1]
        if (sio === 0x32 /* 2: EVENT */) {
          // fall through to counting below
        } else {
          if (sio === 0x30 /* 0: CONNECT ack */ && !this.open) this.becomeOpen()
          return
        }
      } else {
        if (eio === 0x30 /* 0: open */) this.socket.write(SIO_CONNECT)
        else if (eio === 0x32 /* 2: ping */) this.socket.write(SIO_PONG)
        return
      }
    }
    this.messages++
    this.sink.delivered++
    if (this.sink.wantPayload) this.sink.onMessage(this, buf, start, end)
  }

  /** Before the subscription is confirmed: wait for the reply to command 2 (subscribe). */
  private channelReply(text: string): void {
    if (text.includes('"error"')) this.fail(`channel protocol error: ${text.slice(0, 200)}`)
    else if (/"id":\s*2\b/.test(text)) this.becomeOpen()
  }
}
