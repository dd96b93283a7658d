/**
 * One Server-Sent Events stream over a node:http response.
 *
 * Write path: `send()` encodes and appends to the stream's pending chunks; streams with pending
 * chunks are flushed together once per event-loop turn (one module-level `setImmediate`), so N
 * sends in a turn cost one socket write (corked). The response head is the first chunk, which
 * is why `noContent()` still works until the end of the turn that opened the stream.
 *
 * On HTTP/1.x the stream writes to the socket (its TCP handle when it can: src/net): the head is
 * ours, the body close-delimited (RFC 9112 §6.3 rule 8), and prepared events go out as the same
 * Buffer for every stream. Anything else (HTTP/2, injected requests) goes through `res.write`.
 *
 * Memory: no closures per stream (the socket listener is one module-level function with a back-
 * reference); the AbortController, `closed` promise and pending chunks are made only when used.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import { createError } from '../errors/index.ts'
import {
  canWriteOwned,
  pendingDirect,
  TAKEN,
  writeOwned,
  writeSocket,
} from '../net/direct-write.ts'
import { detachFromHttpServer, endDetached } from './detach.ts'
import { encodeComment, encodeEvent, type PreparedEvent, type SseEvent } from './encode.ts'
import { enqueueFlush, type Flushable, isFlushing, joinShared } from './flush-queue.ts'
import { headerList, rawHead } from './head.ts'
import type { HeartbeatMember } from './heartbeat.ts'
import type { ResolvedSseOptions, SseCloseReason, SseStreamWatcher } from './options.ts'
import { pipeItems, type SseItem } from './pipe.ts'

export type { SseStreamWatcher } from './options.ts'
export type { SseItem } from './pipe.ts'

const PENDING = 0
const OPEN = 1
const CLOSED = 2

/** The socket's relation to node:http: still attached, handed over to us, or must stay. */
const ATTACHED = 0
const DETACHED = 1
const STAYS = 2

/** Whether every write to the socket is ours (detached from node:http, on a plain TCP handle),
 * and then whether our last write left it empty: writes may then skip its stream state. */
const NOT_OWNED = 0
const OWNED_BUSY = 1
const OWNED_IDLE = 2

const HEARTBEAT = ':\n'
const kStream = Symbol('switchboard.sse.stream')

/** The writable end we write to: the raw socket (HTTP/1.x) or the response (otherwise). */
type Target = (Socket | ServerResponse) & { [kStream]?: SseStream | null }

/**
 * A live Server-Sent Events stream. Create it with `ctx.sse()`, `app.sse(path, handler)` or,
 * on plain node:http, {@link createSseStream}.
 *
 * @example
 * const stream = createSseStream(req, res)
 * stream.send({ event: 'hello', data: { at: Date.now() } })
 * await stream.closed // resolves when the client leaves (also when awaited after it left)
 */
export class SseStream implements HeartbeatMember, Flushable {
  /** The `Last-Event-ID` (or `lastEventId` query parameter) the client resumed with. */
  readonly lastEventId: string | undefined
  /** Events and comments dropped by the `'drop'` policy. */
  dropped = 0
  /** Why the stream ended; `null` while open. */
  closeReason: SseCloseReason | null = null

  private state = PENDING
  private target: Target
  private res: ServerResponse | null
  private headers: Readonly<Record<string, string | readonly string[]>> | null
  private readonly raw: boolean
  private readonly http11: boolean
  private readonly opts: ResolvedSseOptions
  private first: string | Buffer | null = null
  private rest: (string | Buffer)[] | null = null
  private pendingBytes = 0
  /** @internal In the module flush queue. */
  queued = false
  private link = ATTACHED
  private own = NOT_OWNED
  private active = false
  private ac: AbortController | null = null
  private closedPromise: Promise<void> | null = null
  private resolveClosed: (() => void) | null = null
  /** @internal Told when the stream ends (see {@link SseStreamWatcher}); set while open. */
  watcher: SseStreamWatcher | null = null

  /** @internal Use {@link createSseStream}. */
  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    opts: ResolvedSseOptions,
    lastEventId: string | undefined,
    headers: Readonly<Record<string, string | readonly string[]>> | null,
  ) {
    this.opts = opts
    this.lastEventId = lastEventId
    this.res = res
    this.headers = headers
    const socket = res.socket
    this.raw = req.httpVersionMajor === 1 && socket instanceof Socket && !socket.destroyed
    this.http11 = req.httpVersionMajor === 1 && req.httpVersionMinor >= 1
    const target: Target = this.raw ? (socket as Socket) : res
    this.target = target
    target[kStream] = this
    target.on('close', onTargetClose)
    if (this.raw) {
      const s = socket as Socket
      s.setNoDelay(true)
      s.setTimeout(0)
    }
    this.first = '' // the head goes out with the first flush
    enqueueFlush(this)
    opts.heartbeat?.add(this)
    if (socket?.destroyed) this.finish('client')
  }

  /** Whether the stream has ended (client gone, `close()`, policy, shutdown). */
  get isClosed(): boolean {
    return this.state === CLOSED
  }

  /** Whether the response head has been written. */
  get headersSent(): boolean {
    return this.state !== PENDING
  }

  /** Bytes accepted but not yet handed to the kernel (ours plus the socket's buffer). */
  get bufferedBytes(): number {
    if (this.state === CLOSED) return 0
    return this.pendingBytes + (this.state === OPEN ? this.held() : 0)
  }

  /** Bytes the socket (or response) still holds: its Writable's, and those of direct writes. */
  private held(): number {
    if (this.own === OWNED_IDLE) return 0
    const target = this.target
    if (!this.raw) return target.writableLength
    const held = target.writableLength + pendingDirect(target as Socket)
    if (held === 0 && this.own === OWNED_BUSY) this.own = OWNED_IDLE
    return held
  }

  /** Writes to the raw socket: straight to its handle, unread, while it is ours and empty. */
  /** Writes one chunk to the open stream's target: bytes straight to a raw socket's handle. */
  private writeOne(chunk: string | Buffer): void {
    if (this.raw && typeof chunk !== 'string') this.writeRaw(chunk)
    else {
      if (this.own === OWNED_IDLE) this.own = OWNED_BUSY
      this.target.write(chunk)
    }
  }

  private writeRaw(bytes: Buffer): void {
    if (this.own === OWNED_IDLE) {
      if (writeOwned(this.target as Socket, bytes) === TAKEN) return
      this.own = OWNED_BUSY
    } else writeSocket(this.target as Socket, bytes)
  }

  /**
   * Aborted when the stream ends. Reading it after the end returns an aborted signal.
   *
   * @example
   * while (!stream.signal.aborted) { stream.send({ data: await next() }) }
   */
  get signal(): AbortSignal {
    if (this.ac === null) {
      this.ac = new AbortController()
      if (this.state === CLOSED) this.ac.abort()
    }
    return this.ac.signal
  }

  /** Resolves when the stream ends, also when first read after it ended. Never rejects. */
  get closed(): Promise<void> {
    if (this.closedPromise === null) {
      this.closedPromise =
        this.state === CLOSED
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              this.resolveClosed = resolve
            })
    }
    return this.closedPromise
  }

  /**
   * Sends one event. Returns `true` when it was queued, `false` when the stream is closed or
   * the `'drop'` policy discarded it. Throws a coded `SWB_ERR_SSE_INVALID_*` error for a name,
   * id, retry or data that could inject fields (nothing is written then).
   *
   * @example
   * stream.send({ event: 'price', id: '42', data: { sym: 'ACME', px: 12.5 } })
   */
  send(event: SseEvent): boolean {
    const text = encodeEvent(event)
    if (this.state === CLOSED) return false
    return this.enqueue(text, Buffer.byteLength(text))
  }

  /**
   * Sends an event encoded once by `prepareEvent()`; the same bytes go to every stream.
   *
   * @example
   * const p = prepareEvent({ data: 'hi' }); for (const s of streams) s.sendPrepared(p)
   */
  sendPrepared(prepared: PreparedEvent): boolean {
    return this.enqueue(prepared.bytes, prepared.bytes.length)
  }

  /**
   * Writes text that already is whole `text/event-stream` events, unchecked: for producers
   * that encode their own events (the channel hub writes its shared event text with a
   * per-stream `id:` this way). Bytes (UTF-8) are written as they are, so one Buffer encoded
   * once can go to many streams. Same batching and backpressure as `send()`.
   *
   * @example
   * stream.writeEncoded('id: 7\nevent: publication\ndata: {"x":1}\n\n')
   */
  writeEncoded(text: string | Uint8Array): boolean {
    if (typeof text === 'string') return this.enqueue(text, Buffer.byteLength(text))
    const bytes = Buffer.isBuffer(text)
      ? text
      : Buffer.from(text.buffer, text.byteOffset, text.byteLength)
    return this.enqueue(bytes, bytes.length)
  }

  /**
   * @internal `writeEncoded(chunk)` then `flush()`, for a writer that writes each stream once
   * from its own end-of-turn pass (the channel hub). An open stream with nothing pending whose
   * socket node:http has no more to do with writes at once, without joining the module flush
   * queue: one visit per stream and write, not two.
   */
  writeNow(chunk: string | Buffer): boolean {
    const bytes = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length
    if (this.first !== null || this.state !== OPEN || this.link === ATTACHED) {
      const ok = this.enqueue(chunk, bytes)
      this.flush()
      return ok
    }
    const target = this.target
    if (this.own !== OWNED_IDLE && target.destroyed) {
      this.finish('client')
      return false
    }
    if (this.refused(this.held() + bytes, bytes)) return false
    this.active = true
    this.writeOne(chunk)
    return true
  }

  /**
   * Sends a comment line (ignored by clients; keeps intermediaries from timing out).
   *
   * @example
   * stream.comment('still here')
   */
  comment(text?: string): boolean {
    const line = encodeComment(text)
    return this.enqueue(line, Buffer.byteLength(line))
  }

  /**
   * Writes what is pending now instead of at the end of the turn.
   */
  flush(): void {
    if (this.state === CLOSED) return
    let first = this.first
    if (first === null) return
    let rest = this.rest
    this.first = null
    this.rest = null
    this.pendingBytes = 0
    const target = this.target
    if (this.state === PENDING) {
      this.state = OPEN
      if (this.raw) {
        const head = rawHead(this.opts, this.http11, this.res, this.headers)
        if (typeof first === 'string') first = head + first
        else {
          rest = rest === null ? [first] : [first, ...rest]
          first = head
        }
      } else {
        const res = target as ServerResponse
        res.writeHead(200, headerList(this.opts, this.headers, true))
        res.flushHeaders()
        if (this.opts.preamble !== '') {
          if (typeof first === 'string') first = this.opts.preamble + first
          else rest = rest === null ? [first] : [first, ...rest]
        }
      }
      this.res = null
      this.headers = null
      // The hand-over from node:http must happen outside its parser callbacks: next flush turn.
      if (!isFlushing() && this.raw && this.opts.detach && !this.queued) enqueueFlush(this)
    }
    // An idle owned socket is not asked: a destroyed one has no handle, and `writeOwned` leaves
    // the bytes to `socket.write`, which drops them; its 'close' ends the stream.
    if (this.own !== OWNED_IDLE && target.destroyed) {
      this.finish('client')
      return
    }
    if (rest === null) {
      if (first.length > 0) this.writeOne(first)
      return
    }
    const joined = typeof first === 'string' ? null : joinShared(first, rest)
    if (joined !== null) {
      if (this.raw) this.writeRaw(joined)
      else target.write(joined)
      return
    }
    if (this.own === OWNED_IDLE) this.own = OWNED_BUSY
    target.cork()
    target.write(first)
    for (let i = 0; i < rest.length; i++) target.write(rest[i]!)
    target.uncork()
  }

  /**
   * Ends the stream after writing what is pending. The browser reconnects after its retry
   * delay; answer that reconnect with `noContent()` to stop it.
   */
  close(): void {
    if (this.state === CLOSED) return
    this.flush()
    const target = this.target
    if (this.held() > this.opts.highWaterMark) target.destroy()
    else if (this.link === DETACHED) endDetached(target as Socket)
    else target.end()
    this.finish('server')
  }

  /**
   * Answers `204 No Content` instead of opening the stream, which tells an `EventSource` to
   * stop reconnecting (HTML §9.2.3). Only possible before the head is written, i.e. in the same
   * event-loop turn the stream was created; otherwise throws `SWB_ERR_SSE_HEADERS_SENT`.
   *
   * @example
   * app.sse('/feed/:name', (stream, ctx) => {
   *   if (!feeds.has(ctx.params.name)) return stream.noContent()
   * })
   */
  noContent(): void {
    if (this.state === CLOSED) return
    const res = this.res
    if (this.state !== PENDING || res === null) throw createError('SWB_ERR_SSE_HEADERS_SENT')
    this.first = null
    this.rest = null
    this.pendingBytes = 0
    const headers = headerList(this.opts, this.headers, false)
    this.finish('server')
    res.writeHead(204, headers)
    res.end()
  }

  /**
   * @internal Abandons a stream whose head is not out yet, writing nothing, so the caller can
   * still answer the request another way. Returns `false` (and does nothing) once it is out.
   */
  cancel(): boolean {
    if (this.state !== PENDING) return false
    this.finish('server')
    return true
  }

  /**
   * Sends every item of an (async) iterable until it ends or the stream closes, then closes
   * the stream (unless `{ close: false }`). Stops waiting on the source as soon as the client
   * leaves and calls the iterator's `return()`. Rejects with the source's error, if any.
   *
   * @example
   * await stream.pipe(ticker()) // async function* ticker() { yield { data: ... } }
   */
  pipe(
    source: AsyncIterable<SseItem> | Iterable<SseItem>,
    options?: { close?: boolean },
  ): Promise<void> {
    return pipeItems(this, source, options)
  }

  /** @internal Called by the flush queue (outside any parser callback) after `flush()`. */
  afterFlush(): void {
    if (this.link !== ATTACHED || this.state !== OPEN || !this.raw || !this.opts.detach) return
    const res = detachFromHttpServer(this.target as Socket, isOwnListener)
    if (res === false) this.link = STAYS
    else {
      this.link = DETACHED
      this.res = res
      if (canWriteOwned(this.target as Socket)) this.own = OWNED_BUSY
    }
  }

  /** @internal Heartbeat tick: a comment if nothing was written since the previous tick. */
  onHeartbeat(): void {
    if (this.state !== OPEN) return
    if (!this.active) this.enqueue(HEARTBEAT, HEARTBEAT.length)
    this.active = false
  }

  /** @internal The target closed (client gone or error). */
  onTargetClose(): void {
    this.finish(this.target.errored ? 'error' : 'client')
  }

  private enqueue(chunk: string | Buffer, bytes: number): boolean {
    if (this.state === CLOSED) return false
    const buffered = this.pendingBytes + (this.state === OPEN ? this.held() : 0) + bytes
    if (this.refused(buffered, bytes)) return false
    this.pendingBytes += bytes
    this.active = true
    if (this.first === null) this.first = chunk
    else if (typeof chunk === 'string' && typeof this.first === 'string' && this.rest === null) {
      this.first += chunk
    } else (this.rest ??= []).push(chunk)
    if (!this.queued) enqueueFlush(this)
    return true
  }

  /** §"Backpressure": never buffer past the mark (one event alone may exceed it). Over it, the
   * policy acts and the write is refused. */
  private refused(buffered: number, bytes: number): boolean {
    if (buffered <= this.opts.highWaterMark || buffered === bytes) return false
    if (this.opts.policy === 'close') this.destroyFor('backpressure')
    else this.dropped++
    return true
  }

  private destroyFor(reason: SseCloseReason): void {
    this.target.destroy()
    this.finish(reason)
  }

  private finish(reason: SseCloseReason): void {
    if (this.state === CLOSED) return
    this.state = CLOSED
    this.closeReason = reason
    this.first = null
    this.rest = null
    this.pendingBytes = 0
    const target = this.target
    target.removeListener('close', onTargetClose)
    target[kStream] = null
    this.opts.heartbeat?.delete(this)
    if (this.link === DETACHED && this.res !== null) {
      // Someone (onResponse hooks, request logging) watches the response node:http let go of.
      const res = this.res
      this.res = null
      res.emit('close')
    }
    this.ac?.abort()
    this.resolveClosed?.()
    this.resolveClosed = null
    if (this.watcher !== null) {
      if (endedStreams.length === 0) queueMicrotask(tellWatchers)
      endedStreams.push(this)
    }
  }
}

// Streams that ended with a watcher, told together in one microtask (as a `closed.then` would).
let endedStreams: SseStream[] = []

function tellWatchers(): void {
  const ended = endedStreams
  endedStreams = []
  for (const stream of ended) {
    const watcher = stream.watcher
    stream.watcher = null
    watcher?.streamClosed(stream)
  }
}

function onTargetClose(this: Target): void {
  this[kStream]?.onTargetClose()
}

function isOwnListener(fn: Function): boolean {
  return fn === onTargetClose
}
