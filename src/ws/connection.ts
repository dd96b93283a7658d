import type { Socket } from 'node:net'
import { ERRORS, type ErrorSpec, SwitchboardError } from '../errors/index.ts'
import type { WsErrorCode } from '../errors/ws.ts'
import {
  canWriteOwned,
  pendingDirect,
  TAKEN,
  writeOwned,
  writeSocket,
} from '../net/direct-write.ts'
import {
  BUFFERED,
  CLOSE_ABNORMAL,
  CLOSE_NO_STATUS,
  CLOSED,
  CLOSING,
  DROPPED,
  OP_BINARY,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  OPEN,
  SENT,
  type SendStatus,
} from './constants.ts'
import { type DeflateOwner, PerMessageDeflate } from './deflate.ts'
import type { DeflateParams } from './deflate-params.ts'
import { directReader, useDirectRead } from './direct-read.ts'
import { Inbox, type WsMessage } from './inbox.ts'
import { isValidCloseCode, Receiver, type ReceiverSink } from './receiver.ts'
import type { WsRegistry } from './registry.ts'
import type { WsRoute } from './route.ts'
import { closeFrame, frame, frameString, type PreparedMessage, toBuffer } from './sender.ts'
import { joinBatch, scheduleFlush, sharedJoin } from './write-batch.ts'

const kWs = Symbol('switchboard.ws')
type OwnedSocket = Socket & { [kWs]: ServerWebSocket<unknown> }

// ---- module-level socket listeners: they reach their connection through a back-reference ----
function onSocketData(this: OwnedSocket, chunk: Buffer): void {
  this[kWs].receive(chunk)
}
const directRead = directReader(onSocketData as (this: Socket, chunk: Buffer) => void)
function onSocketEnd(this: OwnedSocket): void {
  // The peer half-closed (http sockets allow half-open): finish our side too.
  if (!this.writableEnded) this.end()
}
function onSocketClose(this: OwnedSocket): void {
  this[kWs].finish()
}
function onSocketError(this: OwnedSocket): void {
  // 'close' follows; the close hook reports 1006 unless a close frame was exchanged.
}
function onSocketDrain(this: OwnedSocket): void {
  this[kWs].drained()
}

/** RFC 6455 §5.5.2: an empty ping, shared by every connection's idle check. */
const IDLE_PING = Buffer.from([0x80 | OP_PING, 0x00])

/** Strings up to this many UTF-16 units are framed without an intermediate Buffer. */
const SMALL_TEXT = 125

// Flag bits of a connection.
const F_QUEUED = 1 // in the dirty list
const F_CLOSE_SENT = 2
const F_CLOSE_RECEIVED = 4
const F_END_AFTER_FLUSH = 8
const F_PINGED = 16
const F_FINISHED = 32
const F_PAUSED = 64
/** The socket may hold written bytes (set by a flush that left some, cleared by 'drain'). */
const F_BACKLOG = 128
/** Inside `receive`: frames queued now are written when the read is processed, not at the turn's end. */
const F_READING = 256
/** The socket takes `writeOwned`: every write goes through this connection (see `writeNow`). */
const F_DIRECT = 512

/**
 * A server-side WebSocket connection. Created by the upgrade path; you get it in the route hooks.
 *
 * @example
 * app.ws('/echo', {
 *   message(ws, data, isBinary) {
 *     if (ws.send(data, isBinary) === DROPPED) ws.close(1013, 'slow down')
 *   },
 * })
 */
export class ServerWebSocket<Data = undefined> implements ReceiverSink, DeflateOwner {
  // The fields a send reads come first, in the object's first cache line (a fan-out touches
  // thousands of connections once each).
  /** `OPEN` (1), `CLOSING` (2) or `CLOSED` (3). */
  readyState: number = OPEN
  // The 101 response went through the socket: look at it until the first flush says otherwise.
  private flags = F_BACKLOG
  // One queued frame is held as is; an array only from the second one in a turn (an echo or a
  // reply, one frame per turn, allocates no array).
  private outbox: Buffer | Buffer[] | null = null
  private outboxBytes = 0
  private readonly route: WsRoute
  private readonly pmd: PerMessageDeflate | null
  private readonly socket: OwnedSocket
  /** What the route's `upgrade` hook returned. */
  data: Data
  /** The negotiated subprotocol, or '' when none. */
  readonly protocol: string
  /** Messages dropped by `backpressurePolicy: 'drop'`. */
  dropped = 0
  private readonly registry: WsRegistry
  private readonly receiver: Receiver
  private lastSeen: number
  private closeDeadline = 0
  private code = 0
  private reason = ''
  private pendingClose: Buffer | null = null
  private inbox: Inbox | null = null
  private done: { promise: Promise<void>; resolve: () => void } | null = null

  /** @internal created by `acceptUpgrade()`. */
  constructor(
    socket: Socket,
    route: WsRoute,
    registry: WsRegistry,
    data: Data,
    protocol: string,
    deflate: DeflateParams | null,
  ) {
    this.socket = socket as OwnedSocket
    this.route = route
    this.registry = registry
    this.data = data
    this.protocol = protocol
    this.pmd =
      deflate === null ? null : new PerMessageDeflate(this, deflate, route.rules.compression!)
    this.receiver = new Receiver(this, route, deflate !== null)
    // Join the registry first: it refreshes its clock when its timer was stopped.
    registry.add(this, route.idleMs, route.closeTimeout)
    this.lastSeen = registry.now
    const s = this.socket
    s[kWs] = this
    if (canWriteOwned(s)) this.flags |= F_DIRECT
    if (!useDirectRead(s, directRead)) s.on('data', onSocketData)
    s.on('end', onSocketEnd)
    s.on('close', onSocketClose)
    s.on('error', onSocketError)
    if (route.drain !== null) s.on('drain', onSocketDrain) // only routes that listen pay for it
  }

  /** The peer's IP address. */
  get remoteAddress(): string {
    return this.socket.remoteAddress ?? ''
  }

  /** Bytes accepted by `send()` but not yet taken by the kernel. */
  get bufferedAmount(): number {
    // The socket's own buffer is read only when the last flush left bytes in it: a stream getter
    // per send was 7% of a fan-out's CPU, and after a flush that the kernel took whole it is 0.
    const s = this.socket
    const socket = (this.flags & F_BACKLOG) === 0 ? 0 : s.writableLength + pendingDirect(s)
    return this.outboxBytes + socket + (this.pmd?.pendingBytes ?? 0)
  }

  /** Resolves once the connection is closed (allocated on first use). */
  get closed(): Promise<void> {
    if (this.done === null) {
      let resolve!: () => void
      const promise = new Promise<void>((r) => {
        resolve = r
      })
      this.done = { promise, resolve }
      if (this.flags & F_FINISHED) resolve()
    }
    return this.done.promise
  }

  /**
   * Sends a message: text for a string (or when `isBinary` is false), binary otherwise. Never
   * throws; returns `SENT`, `BUFFERED` or `DROPPED` (see `SendStatus`).
   */
  send(data: string | Uint8Array, isBinary?: boolean): SendStatus {
    if (this.readyState !== OPEN) return DROPPED
    const binary = isBinary ?? typeof data !== 'string'
    if (this.bufferedAmount > this.route.maxBackpressure) return this.overLimit()
    const pmd = this.pmd
    if (typeof data === 'string' && (pmd === null || !pmd.busy) && data.length <= SMALL_TEXT) {
      // Small strings are encoded straight behind their header: one allocation, one copy.
      const f = frameString(binary ? OP_BINARY : OP_TEXT, data)
      if (pmd === null || f.length - (f[1] === 126 ? 4 : 2) < pmd.cfg.threshold) {
        this.append(f)
        return this.status()
      }
    }
    const payload = typeof data === 'string' ? Buffer.from(data) : toBuffer(data)
    if (pmd !== null) {
      const compress = payload.length >= pmd.cfg.threshold
      if (compress || pmd.busy) {
        pmd.send(payload, binary, compress)
        return this.status()
      }
    }
    this.append(frame(binary ? OP_BINARY : OP_TEXT, payload, false))
    return this.status()
  }

  /** Sends a frame made once by `prepareMessage()` (always uncompressed; the bytes are shared). */
  sendPrepared(message: PreparedMessage): SendStatus {
    if (this.readyState !== OPEN) return DROPPED
    if (this.bufferedAmount > this.route.maxBackpressure) return this.overLimit()
    if (this.pmd?.busy) this.pmd.send(message.frame, message.isBinary, false, true)
    else this.append(message.frame)
    return this.status()
  }

  /**
   * Sends several prepared messages in one write, in order. Their frames are joined once per
   * array: every connection handed the same array in a turn (a channel fan-out) gets the same
   * Buffer. The array must not change while it is in use.
   *
   * @example
   * const batch = [prepareMessage('a'), prepareMessage('b')]
   * for (const ws of room) ws.sendPreparedBatch(batch)
   */
  sendPreparedBatch(messages: readonly PreparedMessage[]): SendStatus {
    if (this.readyState !== OPEN) return DROPPED
    if (this.bufferedAmount > this.route.maxBackpressure) return this.overLimit()
    const joined = joinBatch(messages)
    if (this.pmd?.busy) this.pmd.send(joined, false, false, true)
    else this.append(joined)
    return this.status()
  }

  /**
   * @internal `sendPreparedBatch`, written at once: for a caller that is itself an end-of-turn
   * pass (the channel hub), so the write is still one per turn. With nothing else queued the
   * joined frames go straight to the socket, without a turn in the connection's own queue.
   */
  writePreparedBatch(messages: readonly PreparedMessage[]): SendStatus {
    if (this.readyState !== OPEN) return DROPPED
    if (this.bufferedAmount > this.route.maxBackpressure) return this.overLimit()
    return this.writeNow(joinBatch(messages))
  }

  /** @internal `sendPrepared`, written at once (see `writePreparedBatch`). */
  writePrepared(message: PreparedMessage): SendStatus {
    if (this.readyState !== OPEN) return DROPPED
    if (this.bufferedAmount > this.route.maxBackpressure) return this.overLimit()
    return this.writeNow(message.frame)
  }

  /** Writes `bytes` (uncompressed frames) now, behind anything queued. */
  private writeNow(bytes: Buffer): SendStatus {
    if (this.outbox === null && this.pmd?.busy !== true) {
      if (this.ownsIdleSocket()) {
        if (writeOwned(this.socket, bytes) === TAKEN) return SENT
        this.noteBacklog()
        return this.status()
      }
      const s = this.socket
      if (!s.destroyed && !s.writableEnded) {
        writeSocket(s, bytes)
        this.noteBacklog()
      }
      return this.status()
    }
    if (this.pmd?.busy) this.pmd.send(bytes, false, false, true)
    else this.append(bytes)
    if (this.outbox !== null) this.flush()
    return this.status()
  }

  /** @internal writes what is queued now instead of at the end of the turn (the channel hub
   * calls it from its own end-of-turn pass, so the write is still one per turn). */
  flushNow(): void {
    if (this.outbox !== null) this.flush()
  }

  /** Sends a ping (RFC 6455 §5.5.2), at most 125 bytes. */
  ping(data: string | Uint8Array = ''): SendStatus {
    return this.control(OP_PING, data)
  }

  /** Sends an unsolicited pong (RFC 6455 §5.5.3), at most 125 bytes. */
  pong(data: string | Uint8Array = ''): SendStatus {
    return this.control(OP_PONG, data)
  }

  /**
   * Starts the closing handshake (RFC 6455 §7.1.2): queued messages go out first, then the close
   * frame; the socket closes when the peer answers or after `closeTimeout`. `code` must be one a
   * close frame may carry (1000-1003, 1007-1014, 3000-4999) and `reason` at most 123 bytes.
   */
  close(code = 1000, reason = ''): void {
    if (!isValidCloseCode(code) || Buffer.byteLength(reason) > 123) {
      throw new SwitchboardError(
        'SWB_ERR_WS_INVALID_CLOSE',
        `invalid close code ${code} or reason over 123 bytes`,
      )
    }
    if (this.readyState !== OPEN) return
    this.code = code
    this.reason = reason
    this.sendClose(code, reason, false)
  }

  /** Destroys the socket at once, without a closing handshake. */
  terminate(): void {
    this.receiver.stop()
    if (!this.socket.destroyed) this.socket.destroy()
  }

  /**
   * Loop style: `for await (const { data, isBinary } of ws) { … }`. Messages arriving while the
   * loop body runs are queued; past `maxBackpressure` queued bytes the socket stops reading until
   * the loop catches up. The loop ends when the connection closes.
   */
  [Symbol.asyncIterator](): AsyncIterator<WsMessage> {
    this.inbox ??= new Inbox(this)
    this.inbox.iterating = true
    return this.inbox
  }

  // ---- internals -------------------------------------------------------------------------

  private control(opcode: number, data: string | Uint8Array): SendStatus {
    if (this.readyState !== OPEN) return DROPPED
    const payload = typeof data === 'string' ? Buffer.from(data) : toBuffer(data)
    if (payload.length > 125) {
      throw new SwitchboardError(
        'SWB_ERR_INVALID_OPTION',
        'control frame payloads are at most 125 bytes',
      )
    }
    this.append(frame(opcode, payload, false))
    return this.status()
  }

  /**
   * Open, on a socket that takes `writeOwned`, and the last write left it empty. Every write to
   * the socket goes through this connection, so it still is, and its stream state need not be
   * read before the next write (`writeOwned`).
   */
  private ownsIdleSocket(): boolean {
    return (this.flags & (F_DIRECT | F_BACKLOG)) === F_DIRECT && this.readyState === OPEN
  }

  private status(): SendStatus {
    if ((this.flags & F_BACKLOG) === 0) return SENT
    const s = this.socket
    return s.writableNeedDrain || pendingDirect(s) > 0 ? BUFFERED : SENT
  }

  /** After a write: whether the socket still holds bytes (its Writable, or the direct path's). */
  private noteBacklog(): void {
    const s = this.socket
    if (s.writableLength > 0 || pendingDirect(s) > 0) this.flags |= F_BACKLOG
    else this.flags &= ~F_BACKLOG
  }

  private overLimit(): SendStatus {
    if (this.route.dropOnBackpressure) this.dropped++
    else this.fail('SWB_ERR_WS_BACKPRESSURE')
    return DROPPED
  }

  private append(buf: Buffer | Buffer[]): void {
    const box = this.outbox
    if (Array.isArray(buf)) {
      if (box === null) this.outbox = [buf[0]!, buf[1]!]
      else if (Array.isArray(box)) box.push(buf[0]!, buf[1]!)
      else this.outbox = [box, buf[0]!, buf[1]!]
      this.outboxBytes += buf[0]!.length + buf[1]!.length
    } else {
      if (box === null) this.outbox = buf
      else if (Array.isArray(box)) box.push(buf)
      else this.outbox = [box, buf]
      this.outboxBytes += buf.length
    }
    this.queueFlush()
  }

  private queueFlush(): void {
    if ((this.flags & (F_QUEUED | F_READING)) === 0) {
      this.flags |= F_QUEUED
      scheduleFlush(this)
    }
  }

  /** @internal writes the outbox: cork, write all, uncork (one writev). */
  flush(): void {
    this.flags &= ~F_QUEUED
    const box = this.outbox
    const bytes = this.outboxBytes
    this.outbox = null
    this.outboxBytes = 0
    const s = this.socket
    if (box !== null && !Array.isArray(box) && this.ownsIdleSocket()) {
      // One frame (an echo, a reply) to a socket known empty: no stream state read.
      if (writeOwned(s, box) !== TAKEN) this.noteBacklog()
    } else if (box !== null && !s.destroyed && !s.writableEnded) {
      if (!Array.isArray(box)) writeSocket(s, box)
      else {
        const joined = sharedJoin(box, bytes)
        if (joined !== null) writeSocket(s, joined)
        else {
          s.cork()
          for (let i = 0; i < box.length; i++) s.write(box[i]!)
          s.uncork()
        }
      }
      this.noteBacklog()
    }
    if (this.flags & F_END_AFTER_FLUSH && !s.writableEnded) s.end()
  }

  /** @internal socket data. */
  receive(chunk: Buffer): void {
    this.lastSeen = this.registry.now
    this.flags = (this.flags & ~F_PINGED) | F_READING
    this.receiver.push(chunk)
    this.flags &= ~F_READING
    // Replies to what this read carried go out now, in one write.
    if (this.outbox !== null && (this.flags & F_QUEUED) === 0) this.flush()
  }

  /** @internal shared-timer pass: idle ping, idle timeout, close deadline. */
  heartbeat(now: number): void {
    if (this.readyState === OPEN) {
      const idle = this.route.idleMs
      if (idle === 0) return
      const silent = now - this.lastSeen
      if (silent >= idle) this.fail('SWB_ERR_WS_IDLE_TIMEOUT')
      else if (silent * 2 >= idle && (this.flags & F_PINGED) === 0) {
        this.flags |= F_PINGED
        this.append(IDLE_PING) // the same two bytes for every connection
      }
    } else if (this.readyState === CLOSING && now >= this.closeDeadline) {
      this.terminate()
    }
  }

  /** @internal socket 'drain'. */
  drained(): void {
    const s = this.socket
    if (s.writableLength === 0 && pendingDirect(s) === 0) this.flags &= ~F_BACKLOG
    if (this.outbox === null && this.readyState === OPEN && this.route.drain !== null) {
      this.call(this.route.drain, undefined, undefined)
    }
  }

  /** Queues a close frame after pending messages and moves to CLOSING. */
  private sendClose(code: number | undefined, reason: string, endNow: boolean): void {
    this.readyState = CLOSING
    this.flags |= F_CLOSE_SENT
    this.closeDeadline = this.registry.now + this.route.closeTimeout
    const f = closeFrame(code, reason)
    if (endNow) this.flags |= F_END_AFTER_FLUSH
    if (this.pmd?.busy && !endNow) {
      this.pendingClose = f
      this.pmd.send(f, false, false, true)
    } else this.append(f)
  }

  /** Fails the connection (RFC 6455 §7.1.7): close frame with the error's code, then TCP close. */
  private fail(error: WsErrorCode, message?: string): void {
    if (this.readyState === CLOSED) return
    this.receiver.stop()
    this.pmd?.destroy()
    if (this.flags & F_PAUSED) {
      // Keep reading (into the stopped receiver) so the peer's FIN or close is seen.
      this.flags &= ~F_PAUSED
      this.socket.resume()
    }
    const closeCode = (ERRORS[error] as ErrorSpec).closeCode ?? 1011
    if (this.code === 0) {
      this.code = closeCode
      this.reason = message ?? ERRORS[error].message
    }
    if (this.flags & F_CLOSE_SENT) {
      // Our close frame may be waiting behind a compression that was just dropped.
      if (this.pendingClose !== null) this.append(this.pendingClose)
      this.pendingClose = null
      this.flags |= F_END_AFTER_FLUSH
      this.queueFlush()
      return
    }
    this.sendClose(closeCode, ERRORS[error].message, true)
  }

  /** @internal the socket closed: report once, release everything. */
  finish(): void {
    if (this.flags & F_FINISHED) return
    this.flags |= F_FINISHED
    this.readyState = CLOSED
    this.receiver.stop()
    this.pmd?.destroy()
    this.outbox = null
    this.outboxBytes = 0
    this.registry.delete(this)
    const code = this.code === 0 ? CLOSE_ABNORMAL : this.code
    const reason = this.code === 0 ? '' : this.reason
    this.inbox?.end()
    if (this.route.close !== null) this.call(this.route.close, code, reason)
    this.done?.resolve()
  }

  /** Calls a hook with (this, a, b); a throw or rejection fails the connection with 1011. */
  private call(fn: (ws: this, a: unknown, b: unknown) => unknown, a: unknown, b: unknown): void {
    let out: unknown
    try {
      out = fn(this, a, b)
    } catch (err) {
      this.hookFailed(err)
      return
    }
    if (out instanceof Promise) out.catch((err: unknown) => this.hookFailed(err))
  }

  private hookFailed(err: unknown): void {
    this.registry.onError(err)
    if (this.readyState !== CLOSED) this.fail('SWB_ERR_WS_HANDLER_FAILED')
  }

  /** @internal run the open hook. */
  opened(): void {
    if (this.route.open !== null) this.call(this.route.open, undefined, undefined)
  }

  // ---- ReceiverSink ----

  onMessage(data: Buffer, isBinary: boolean): void {
    if (this.readyState !== OPEN) return
    const inbox = this.inbox
    if (inbox?.iterating) inbox.push(data, isBinary)
    else if (this.route.message === null) (this.inbox ??= new Inbox(this)).push(data, isBinary)
    if (this.route.message !== null) this.call(this.route.message, data, isBinary)
  }

  onPing(data: Buffer): void {
    // RFC 6455 §5.5.2/§5.5.3: answer a ping with a pong carrying the same payload. The pong
    // counts against maxBackpressure like any send: a peer that pings without reading must not
    // make the server hold its answers (over the limit: 1013, or dropped under 'drop').
    if (this.readyState === OPEN) {
      if (this.bufferedAmount > this.route.maxBackpressure) this.overLimit()
      else this.append(frame(OP_PONG, data, false))
    }
    if (this.route.ping !== null) this.call(this.route.ping, data, undefined)
  }

  onPong(data: Buffer): void {
    // RFC 6455 §5.5.3: unsolicited pongs need no answer.
    if (this.route.pong !== null) this.call(this.route.pong, data, undefined)
  }

  onClose(code: number, reason: string): void {
    this.flags |= F_CLOSE_RECEIVED
    if (this.flags & F_CLOSE_SENT) {
      // RFC 6455 §7.1.1: our close was answered; the server closes the TCP connection first.
      if (this.code === 0 || this.code === code) {
        this.code = code
        this.reason = reason
      }
      if (this.pendingClose === null) {
        this.flags |= F_END_AFTER_FLUSH
        this.queueFlush()
      }
      return
    }
    this.code = code
    this.reason = reason
    // RFC 6455 §5.5.1: echo the status code; an empty close is answered with an empty close.
    this.sendClose(code === CLOSE_NO_STATUS ? undefined : code, '', false)
    if (this.pendingClose === null) this.flags |= F_END_AFTER_FLUSH
  }

  onError(code: WsErrorCode, message: string): void {
    this.fail(code, message)
  }

  onInflate(data: Buffer, fin: boolean, limit: number): void {
    // Stop reading while zlib works; the receiver buffers what already arrived.
    this.socket.pause()
    this.flags |= F_PAUSED
    this.pmd!.inflate(data, fin, limit)
  }

  // ---- DeflateOwner ----

  inflated(data: Buffer): void {
    if ((this.flags & F_PAUSED) !== 0 && !(this.inbox?.full ?? false)) {
      this.flags &= ~F_PAUSED
      this.socket.resume()
    }
    this.receiver.inflated(data)
  }

  inflateFailed(code: WsErrorCode, message: string): void {
    this.fail(code, message)
  }

  deflated(payload: Buffer, isBinary: boolean, compressed: boolean, raw: boolean): void {
    if (this.readyState === CLOSED) return
    if (raw) {
      this.append(payload)
      if (payload === this.pendingClose) {
        this.pendingClose = null
        if (this.flags & F_CLOSE_RECEIVED) this.flags |= F_END_AFTER_FLUSH
      }
      return
    }
    // RFC 7692 §6: RSV1 marks the first (here: only) frame of a compressed message.
    this.append(frame(isBinary ? OP_BINARY : OP_TEXT, payload, compressed))
  }

  /** @internal the inbox drained below its mark. */
  resumeReading(): void {
    if (this.flags & F_PAUSED && !this.receiver.inflating) {
      this.flags &= ~F_PAUSED
      this.socket.resume()
    }
  }

  /** @internal the inbox is over its mark. */
  pauseReading(): void {
    this.flags |= F_PAUSED
    this.socket.pause()
  }

  /** @internal the route's limit for queued incoming bytes. */
  get inboxLimit(): number {
    return Math.max(this.route.maxBackpressure, this.route.maxPayload)
  }
}

export { CLOSED, CLOSING, OPEN }
