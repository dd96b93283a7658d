import type { Socket } from 'node:net'
import { ERRORS, type ErrorSpec, SwitchboardError } from '../errors/index.ts'
import type { WsErrorCode } from '../errors/ws.ts'
import { pendingDirect } from '../net/direct-write.ts'
import {
  F_BACKLOG,
  F_CLOSE_RECEIVED,
  F_CLOSE_SENT,
  F_END_AFTER_FLUSH,
  F_FINISHED,
  F_PAUSED,
  F_PINGED,
  F_QUEUED,
  F_READING,
  WsWriter,
} from './connection-writes.ts'
import {
  CLOSE_ABNORMAL,
  CLOSE_NO_STATUS,
  CLOSED,
  CLOSING,
  OP_BINARY,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  OPEN,
  type SendStatus,
} from './constants.ts'
import { type DeflateOwner, PerMessageDeflate } from './deflate.ts'
import type { DeflateParams } from './deflate-params.ts'
import { directReader, useDirectRead } from './direct-read.ts'
import { Inbox, type WsMessage } from './inbox.ts'
import { isValidCloseCode, Receiver, type ReceiverSink } from './receiver.ts'
import type { WsRegistry } from './registry.ts'
import type { WsRoute } from './route.ts'
import { closeFrame, frame } from './sender.ts'

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
export class ServerWebSocket<Data = undefined>
  extends WsWriter
  implements ReceiverSink, DeflateOwner
{
  /** What the route's `upgrade` hook returned. */
  data: Data
  /** The negotiated subprotocol, or '' when none. */
  readonly protocol: string
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
    super(socket, route)
    this.registry = registry
    this.data = data
    this.protocol = protocol
    this.pmd =
      deflate === null ? null : new PerMessageDeflate(this, deflate, route.rules.compression!)
    this.receiver = new Receiver(this, route, deflate !== null)
    // Join the registry first: it refreshes its clock when its timer was stopped.
    registry.add(this, route.idleMs, route.closeTimeout)
    this.lastSeen = registry.now
    const s = this.socket as OwnedSocket
    s[kWs] = this
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
  protected fail(error: WsErrorCode, message?: string): void {
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
