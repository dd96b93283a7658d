// The write half of a server WebSocket connection: what `send()` and the channel hub's
// end-of-turn writes go through, the per-connection outbox, and how a write reaches the socket.
// `ServerWebSocket` (connection.ts) extends it with reading, closing and the hooks.
import type { Socket } from 'node:net'
import { SwitchboardError } from '../errors/index.ts'
import type { WsErrorCode } from '../errors/ws.ts'
import {
  canWriteOwned,
  pendingDirect,
  TAKEN,
  writeOwned,
  writeSocket,
} from '../net/direct-write.ts'
import { BUFFERED, DROPPED, OP_BINARY, OP_TEXT, OPEN, SENT, type SendStatus } from './constants.ts'
import type { PerMessageDeflate } from './deflate.ts'
import type { WsRoute } from './route.ts'
import { frame, frameString, type PreparedMessage, toBuffer } from './sender.ts'
import { joinBatch, scheduleFlush, sharedJoin } from './write-batch.ts'

/** Strings up to this many UTF-16 units are framed without an intermediate Buffer. */
const SMALL_TEXT = 125

// Flag bits of a connection.
export const F_QUEUED = 1 // in the dirty list
export const F_CLOSE_SENT = 2
export const F_CLOSE_RECEIVED = 4
export const F_END_AFTER_FLUSH = 8
export const F_PINGED = 16
export const F_FINISHED = 32
export const F_PAUSED = 64
/** The socket may hold written bytes (set by a flush that left some, cleared by 'drain'). */
export const F_BACKLOG = 128
/** Inside `receive`: frames queued now are written when the read is processed, not at the turn's end. */
export const F_READING = 256
/** The socket takes `writeOwned`: every write goes through this connection (see `writeNow`). */
export const F_DIRECT = 512

/**
 * @internal The write half of {@link ServerWebSocket}: sends, the outbox, the end-of-turn flush.
 * Its fields come first in a connection object, in its first cache line: they are what a send
 * reads, and a fan-out touches thousands of connections once each.
 */
export abstract class WsWriter {
  /** `OPEN` (1), `CLOSING` (2) or `CLOSED` (3). */
  readyState: number = OPEN
  // The 101 response went through the socket: look at it until the first flush says otherwise.
  protected flags = F_BACKLOG
  // One queued frame is held as is; an array only from the second one in a turn (an echo or a
  // reply, one frame per turn, allocates no array).
  protected outbox: Buffer | Buffer[] | null = null
  protected outboxBytes = 0
  protected readonly route: WsRoute
  protected pmd: PerMessageDeflate | null = null
  protected readonly socket: Socket
  /** Messages dropped by `backpressurePolicy: 'drop'`. */
  dropped = 0

  constructor(socket: Socket, route: WsRoute) {
    this.socket = socket
    this.route = route
    if (canWriteOwned(socket)) this.flags |= F_DIRECT
  }

  /** Fails the connection with `error` (connection.ts). */
  protected abstract fail(error: WsErrorCode, message?: string): void

  /** Bytes accepted by `send()` but not yet taken by the kernel. */
  get bufferedAmount(): number {
    // The socket's own buffer is read only when the last flush left bytes in it: a stream getter
    // per send was 7% of a fan-out's CPU, and after a flush that the kernel took whole it is 0.
    const s = this.socket
    const socket = (this.flags & F_BACKLOG) === 0 ? 0 : s.writableLength + pendingDirect(s)
    return this.outboxBytes + socket + (this.pmd?.pendingBytes ?? 0)
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
  protected writeNow(bytes: Buffer): SendStatus {
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

  protected control(opcode: number, data: string | Uint8Array): SendStatus {
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
  protected ownsIdleSocket(): boolean {
    return (this.flags & (F_DIRECT | F_BACKLOG)) === F_DIRECT && this.readyState === OPEN
  }

  protected status(): SendStatus {
    if ((this.flags & F_BACKLOG) === 0) return SENT
    const s = this.socket
    return s.writableNeedDrain || pendingDirect(s) > 0 ? BUFFERED : SENT
  }

  /** After a write: whether the socket still holds bytes (its Writable, or the direct path's). */
  protected noteBacklog(): void {
    const s = this.socket
    if (s.writableLength > 0 || pendingDirect(s) > 0) this.flags |= F_BACKLOG
    else this.flags &= ~F_BACKLOG
  }

  protected overLimit(): SendStatus {
    if (this.route.dropOnBackpressure) this.dropped++
    else this.fail('SWB_ERR_WS_BACKPRESSURE')
    return DROPPED
  }

  protected append(buf: Buffer | Buffer[]): void {
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

  protected queueFlush(): void {
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
}
