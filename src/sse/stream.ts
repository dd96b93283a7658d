/**
 * One Server-Sent Events stream over a node:http response.
 *
 * Write path: `send()` encodes and appends to the stream's pending chunks; streams with pending
 * chunks are flushed together once per event-loop turn (one module-level `setImmediate`), so N
 * sends in a turn cost one socket write (corked). The response head is the first chunk, which
 * is why `noContent()` still works until the end of the turn that opened the stream.
 *
 * On HTTP/1.x the stream writes to the socket directly: the head is written by us, the body is
 * close-delimited (no chunked framing to add per write, RFC 9112 §6.3 rule 8), and prepared
 * events go to the socket as the very same Buffer for every stream. Anything else (HTTP/2
 * compatibility responses, injected requests) goes through `res.write`.
 *
 * Memory: no closures per stream. The socket listener is one module-level function that reaches
 * its stream through a symbol back-reference; the AbortController, the `closed` promise and the
 * pending-chunk array are created only when used.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { validateHeaderName, validateHeaderValue } from 'node:http'
import { Socket } from 'node:net'
import { createError } from '../errors/index.ts'
import { detachFromHttpServer, endDetached } from './detach.ts'
import {
  encodeComment,
  encodeEvent,
  encodePadding,
  isPreparedEvent,
  type PreparedEvent,
  type SseEvent,
} from './encode.ts'
import { defaultHeartbeat, type HeartbeatMember, HeartbeatRegistry } from './heartbeat.ts'

/** What to do when a stream's unsent bytes would pass its high-water mark. */
export type SsePolicy = 'drop' | 'close'

/** Why a stream ended. */
export type SseCloseReason = 'client' | 'server' | 'backpressure' | 'error'

/** Options of one SSE stream (or of every stream of an `app.sse()` route). */
export interface SseOptions {
  /** Unsent bytes allowed per stream (ours plus the socket's buffer). Default 65536. */
  highWaterMark?: number
  /** Over the mark: `'close'` destroys the stream (the client reconnects and resumes with
   * `Last-Event-ID`), `'drop'` discards the event and counts it in `dropped`. Default `'close'`. */
  policy?: SsePolicy
  /** The shared heartbeat registry, or `false` for no heartbeat. Default: the process-wide
   * {@link defaultHeartbeat} (one 15 s timer). */
  heartbeat?: HeartbeatRegistry | false
  /** Initial padding comment for old proxies: a byte count, or `true` for 2048. Default off. */
  padding?: number | boolean
  /** A `retry:` (ms) sent with the head, before any event. Default none (browsers use ~3 s). */
  retry?: number
  /** Longest accepted `Last-Event-ID` / `lastEventId`, in UTF-8 bytes. Default 256. */
  maxLastEventIdLength?: number
  /** Extra response headers (validated once). */
  headers?: Record<string, string | readonly string[]>
  /**
   * On HTTP/1.x, hand the socket over from node:http once the head is out, freeing its parser,
   * request and response (about 6 KB per idle stream; see `detach.ts`). Default `true`.
   */
  detach?: boolean
}

/** Options after validation; made once per route by {@link resolveSseOptions}. */
export interface ResolvedSseOptions {
  readonly highWaterMark: number
  readonly policy: SsePolicy
  readonly heartbeat: HeartbeatRegistry | null
  readonly maxLastEventIdLength: number
  readonly detach: boolean
  /** Response head lines after the status line (HTTP/1.1 and HTTP/1.0 variants). */
  readonly head11: string
  readonly head10: string
  /** Bytes written right after the head (padding, retry), or ''. */
  readonly preamble: string
  readonly headerMap: Readonly<Record<string, string | readonly string[]>>
}

const DEFAULT_HWM = 64 * 1024
const resolvedSet = new WeakSet<object>()

/**
 * Validates SSE options once. Pass the result to every `createSseStream` call of a route so no
 * stream pays for it again.
 *
 * @example
 * const opts = resolveSseOptions({ policy: 'drop', highWaterMark: 16_384 })
 */
export function resolveSseOptions(options?: SseOptions | ResolvedSseOptions): ResolvedSseOptions {
  if (options !== undefined && resolvedSet.has(options)) return options as ResolvedSseOptions
  const o = (options ?? {}) as SseOptions
  const hwm = o.highWaterMark ?? DEFAULT_HWM
  if (!Number.isSafeInteger(hwm) || hwm < 1) invalid('highWaterMark must be a positive integer')
  const policy = o.policy ?? 'close'
  if (policy !== 'drop' && policy !== 'close') invalid(`policy must be 'drop' or 'close'`)
  const hb = o.heartbeat === undefined ? defaultHeartbeat : o.heartbeat
  if (hb !== false && !(hb instanceof HeartbeatRegistry)) {
    invalid('heartbeat must be a HeartbeatRegistry or false')
  }
  const maxId = o.maxLastEventIdLength ?? 256
  if (!Number.isSafeInteger(maxId) || maxId < 1) {
    invalid('maxLastEventIdLength must be a positive integer')
  }
  let preamble = ''
  if (o.padding !== undefined && o.padding !== false) {
    const n = o.padding === true ? 2048 : o.padding
    if (!Number.isSafeInteger(n) || n < 2 || n > 65536) invalid('padding must be 2-65536 bytes')
    preamble += encodePadding(n)
  }
  if (o.retry !== undefined) preamble += encodeEvent({ retry: o.retry })
  const headerMap: Record<string, string | readonly string[]> = {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
  }
  let extra = ''
  for (const [name, value] of Object.entries(o.headers ?? {})) {
    const lower = name.toLowerCase()
    if (OWN_HEADERS.has(lower)) invalid(`headers must not set ${name}; the SSE stream owns it`)
    try {
      validateHeaderName(name)
      for (const v of Array.isArray(value) ? value : [value]) {
        validateHeaderValue(name, v)
        extra += `${name}: ${v}\r\n`
      }
    } catch (cause) {
      throw createError('SWB_ERR_INVALID_OPTION', `headers.${name} is not a valid header`, cause)
    }
    headerMap[lower] = value
  }
  const base =
    'Content-Type: text/event-stream; charset=utf-8\r\n' +
    'Cache-Control: no-cache, no-transform\r\n' +
    'X-Accel-Buffering: no\r\n' +
    extra
  const resolved: ResolvedSseOptions = Object.freeze({
    highWaterMark: hwm,
    policy,
    heartbeat: hb === false ? null : hb,
    maxLastEventIdLength: maxId,
    detach: o.detach !== false,
    // Keep-alive is an HTTP/1.1 notion; HTTP/2 forbids connection headers (RFC 9113 §8.2.2).
    head11: `HTTP/1.1 200 OK\r\n${base}Connection: keep-alive\r\n`,
    head10: `HTTP/1.1 200 OK\r\n${base}`,
    preamble,
    headerMap: Object.freeze(headerMap),
  })
  resolvedSet.add(resolved)
  return resolved
}

function invalid(message: string): never {
  throw createError('SWB_ERR_INVALID_OPTION', `sse: ${message}`)
}

/** Headers the stream writes itself (or that must never be on a close-delimited stream). */
const OWN_HEADERS = new Set([
  'content-type',
  'cache-control',
  'x-accel-buffering',
  'connection',
  'keep-alive',
  'content-length',
  'transfer-encoding',
  'content-encoding',
])

const DEFAULTS = resolveSseOptions()

const PENDING = 0
const OPEN = 1
const CLOSED = 2

/** The socket's relation to node:http: still attached, handed over to us, or must stay. */
const ATTACHED = 0
const DETACHED = 1
const STAYS = 2

const HEARTBEAT = ':\n'
const kStream = Symbol('switchboard.sse.stream')

/** The writable end we write to: the raw socket (HTTP/1.x) or the response (otherwise). */
type Target = (Socket | ServerResponse) & { [kStream]?: SseStream | null }

/** Per-request inputs of {@link createSseStream} besides the options. */
export interface SseInit {
  /** The raw query string (or parsed params) to read `lastEventId` from; default: `req.url`. */
  query?: string | URLSearchParams
  /** Headers already chosen for this response (CORS, request id); kept on the stream's head. */
  headers?: Readonly<Record<string, string | readonly string[]>> | null
}

/** Items `pipe()` accepts: event objects or prepared events. */
export type SseItem = SseEvent | PreparedEvent

/**
 * A live Server-Sent Events stream. Create it with `ctx.sse()`, `app.sse(path, handler)` or,
 * on plain node:http, {@link createSseStream}.
 *
 * @example
 * const stream = createSseStream(req, res)
 * stream.send({ event: 'hello', data: { at: Date.now() } })
 * await stream.closed // resolves when the client leaves (also when awaited after it left)
 */
export class SseStream implements HeartbeatMember {
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
  private active = false
  private ac: AbortController | null = null
  private closedPromise: Promise<void> | null = null
  private resolveClosed: (() => void) | null = null
  private wakers: Set<(value: unknown) => void> | null = null

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
    return this.pendingBytes + (this.state === OPEN ? this.target.writableLength : 0)
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
        const head = this.rawHead()
        if (typeof first === 'string') first = head + first
        else {
          rest = rest === null ? [first] : [first, ...rest]
          first = head
        }
      } else {
        const res = target as ServerResponse
        res.writeHead(200, this.headerList(true))
        res.flushHeaders()
        if (this.opts.preamble !== '') {
          if (typeof first === 'string') first = this.opts.preamble + first
          else rest = rest === null ? [first] : [first, ...rest]
        }
      }
      this.res = null
      this.headers = null
      // The hand-over from node:http must happen outside its parser callbacks: next flush turn.
      if (!flushing && this.raw && this.opts.detach && !this.queued) enqueueFlush(this)
    }
    if (target.destroyed) {
      this.finish('client')
      return
    }
    if (rest === null) {
      if (first.length > 0) target.write(first)
      return
    }
    const joined = typeof first === 'string' ? null : joinShared(first, rest)
    if (joined !== null) {
      target.write(joined)
      return
    }
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
    if (target.writableLength > this.opts.highWaterMark) target.destroy()
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
    const headers = this.headerList(false)
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
  async pipe(
    source: AsyncIterable<SseItem> | Iterable<SseItem>,
    options?: { close?: boolean },
  ): Promise<void> {
    if (this.state === CLOSED) return
    const iterator =
      Symbol.asyncIterator in source
        ? (source as AsyncIterable<SseItem>)[Symbol.asyncIterator]()
        : (source as Iterable<SseItem>)[Symbol.iterator]()
    let finished = false
    try {
      while (this.state !== CLOSED) {
        const next = iterator.next()
        const result = (await (next instanceof Promise ? this.race(next) : next)) as
          | IteratorResult<SseItem>
          | typeof STOP
        if (result === STOP || this.state === CLOSED) break
        if (result.done) {
          finished = true
          break
        }
        const item = result.value
        if (isPreparedEvent(item)) this.sendPrepared(item)
        else this.send(item)
      }
    } catch (err) {
      finished = true
      this.close()
      throw err
    }
    if (!finished) {
      // The client left while the source was waiting: let the source clean up, without waiting.
      try {
        const ret = iterator.return?.()
        if (ret instanceof Promise) ret.catch(ignore)
      } catch {}
    } else if (options?.close !== false) this.close()
  }

  /** @internal Called by the flush queue (outside any parser callback) after `flush()`. */
  afterFlush(): void {
    if (this.link !== ATTACHED || this.state !== OPEN || !this.raw || !this.opts.detach) return
    const res = detachFromHttpServer(this.target as Socket, isOwnListener)
    if (res === false) this.link = STAYS
    else {
      this.link = DETACHED
      this.res = res
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

  private race(next: Promise<unknown>): Promise<unknown> {
    // A fresh promise per item that only the item and close() settle: unlike
    // Promise.race([next, this.closed]) it leaves no reaction behind on a long-lived promise.
    return new Promise((resolve, reject) => {
      const wakers = (this.wakers ??= new Set())
      wakers.add(resolve)
      next.then(
        (v) => {
          wakers.delete(resolve)
          resolve(v)
        },
        (e) => {
          wakers.delete(resolve)
          reject(e)
        },
      )
    })
  }

  private enqueue(chunk: string | Buffer, bytes: number): boolean {
    if (this.state === CLOSED) return false
    const buffered =
      this.pendingBytes + (this.state === OPEN ? this.target.writableLength : 0) + bytes
    if (buffered > this.opts.highWaterMark && buffered !== bytes) {
      // §"Backpressure": never buffer past the mark; one event alone may exceed it.
      if (this.opts.policy === 'close') {
        this.destroyFor('backpressure')
        return false
      }
      this.dropped++
      return false
    }
    this.pendingBytes += bytes
    this.active = true
    if (this.first === null) this.first = chunk
    else if (typeof chunk === 'string' && typeof this.first === 'string' && this.rest === null) {
      this.first += chunk
    } else (this.rest ??= []).push(chunk)
    if (!this.queued) enqueueFlush(this)
    return true
  }

  private rawHead(): string {
    const opts = this.opts
    let head = this.http11 ? opts.head11 : opts.head10
    // Headers chosen earlier for this response (CORS, request id, cookies) are kept.
    const res = this.res
    if (res !== null) {
      for (const name of res.getHeaderNames()) {
        const value = res.getHeader(name)
        if (value !== undefined) head += rawHeaderLines(opts, name, value)
      }
    }
    const headers = this.headers
    if (headers !== null)
      for (const name in headers) {
        head += rawHeaderLines(opts, name, headers[name]!)
      }
    return `${head}\r\n${opts.preamble}`
  }

  /** Headers for `res.writeHead`: the SSE set (200 only) plus the ones chosen earlier. */
  private headerList(sse: boolean): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {}
    const headers = this.headers
    if (headers !== null)
      for (const name in headers) {
        if (!OWN_HEADERS.has(name.toLowerCase())) out[name] = headers[name] as string | string[]
      }
    if (sse) Object.assign(out, this.opts.headerMap)
    return out
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
    const wakers = this.wakers
    if (wakers !== null) {
      this.wakers = null
      for (const wake of wakers) wake(STOP)
    }
  }
}

const STOP = Symbol('stop')

function rawHeaderLines(
  opts: ResolvedSseOptions,
  name: string,
  value: string | number | readonly string[],
): string {
  const lower = name.toLowerCase()
  if (OWN_HEADERS.has(lower) || opts.headerMap[lower] !== undefined) return ''
  // Values come from Node's setHeader or our ctx.header(); refuse anything that could split
  // the head even so.
  validateHeaderName(name)
  if (typeof value === 'string' || typeof value === 'number') {
    validateHeaderValue(name, String(value))
    return `${name}: ${value}\r\n`
  }
  let out = ''
  for (const v of value) {
    validateHeaderValue(name, v)
    out += `${name}: ${v}\r\n`
  }
  return out
}

function ignore(): void {}

function onTargetClose(this: Target): void {
  this[kStream]?.onTargetClose()
}

function isOwnListener(fn: Function): boolean {
  return fn === onTargetClose
}

// Once-per-turn flush of every stream with pending bytes (ARCHITECTURE: write path).
let queue: SseStream[] = []
let spare: SseStream[] = []
let scheduled = false
let flushing = false

// Fan-out: streams that got the same prepared events in a turn hold the same Buffers in the
// same order. Joining them once and writing that one Buffer to each socket makes a stream's
// cost one write however many events the turn carried. Cleared after every flush turn.
let lastFirst: Buffer | null = null
let lastRest: (string | Buffer)[] | null = null
let lastJoined: Buffer | null = null

function joinShared(first: Buffer, rest: (string | Buffer)[]): Buffer | null {
  if (first === lastFirst && lastRest !== null && rest.length === lastRest.length) {
    let same = true
    for (let i = 0; i < rest.length; i++) {
      if (rest[i] !== lastRest[i]) {
        same = false
        break
      }
    }
    if (same) return lastJoined
  }
  let length = first.length
  for (let i = 0; i < rest.length; i++) {
    const chunk = rest[i]!
    if (typeof chunk === 'string') return null
    length += chunk.length
  }
  const joined = Buffer.allocUnsafe(length)
  let at = first.copy(joined, 0)
  for (let i = 0; i < rest.length; i++) at += (rest[i] as Buffer).copy(joined, at)
  lastFirst = first
  lastRest = rest
  lastJoined = joined
  return joined
}

function enqueueFlush(stream: SseStream): void {
  stream.queued = true
  queue.push(stream)
  if (!scheduled) {
    scheduled = true
    setImmediate(flushQueue)
  }
}

function flushQueue(): void {
  scheduled = false
  const batch = queue
  queue = spare
  flushing = true
  for (let i = 0; i < batch.length; i++) {
    const stream = batch[i]!
    stream.queued = false
    stream.flush()
    stream.afterFlush()
  }
  flushing = false
  lastFirst = null
  lastRest = null
  lastJoined = null
  batch.length = 0
  spare = batch
}

/**
 * Opens an SSE stream on a plain node:http request. Reads and validates `Last-Event-ID` (or the
 * `lastEventId` query parameter) first and throws `SWB_ERR_SSE_INVALID_LAST_EVENT_ID` (status
 * 400) before touching the response when it is malformed. The head goes out at the end of the
 * current event-loop turn, together with anything sent before then.
 *
 * @example
 * http.createServer((req, res) => {
 *   const stream = createSseStream(req, res, { retry: 2000 })
 *   stream.send({ data: `resumed after ${stream.lastEventId ?? 'nothing'}` })
 * })
 */
export function createSseStream(
  req: IncomingMessage,
  res: ServerResponse,
  options?: SseOptions | ResolvedSseOptions,
  init?: SseInit,
): SseStream {
  const opts = options === undefined ? DEFAULTS : resolveSseOptions(options)
  if (res.headersSent || res.writableEnded) throw createError('SWB_ERR_SSE_HEADERS_SENT')
  const lastEventId = readLastEventId(req, init?.query, opts.maxLastEventIdLength)
  // A HEAD request gets the head and nothing else, not even padding (RFC 9110 §9.3.2).
  const head = req.method === 'HEAD'
  const streamOpts = head && opts.preamble !== '' ? { ...opts, preamble: '' } : opts
  const stream = new SseStream(req, res, streamOpts, lastEventId, init?.headers ?? null)
  if (head) stream.close()
  return stream
}

/**
 * Writes one prepared event to many streams; returns how many accepted it.
 *
 * @example
 * broadcast(streams, prepareEvent({ event: 'news', data: headline }))
 */
export function broadcast(streams: Iterable<SseStream>, event: SseEvent | PreparedEvent): number {
  const p = isPreparedEvent(event)
    ? event
    : ({ bytes: Buffer.from(encodeEvent(event)) } as PreparedEvent)
  let n = 0
  for (const s of streams) if (s.sendPrepared(p)) n++
  return n
}

const utf8 = new TextDecoder('utf-8', { fatal: true })
const ASCII = /^[\x00-\x7f]*$/

/**
 * The id a reconnecting client resumes from: the `Last-Event-ID` header (sent by EventSource
 * on reconnect), else the `lastEventId` query parameter (first connect, polyfills). Parsed
 * strictly: one occurrence only, no CR/LF/NUL (an id we could never have sent), at most
 * `maxLength` bytes; header bytes are read as UTF-8 when they are valid UTF-8, else as
 * Latin-1. Returns `undefined` when absent or empty.
 *
 * @example
 * readLastEventId(req) // '42' for `Last-Event-ID: 42`
 */
export function readLastEventId(
  req: IncomingMessage,
  query?: string | URLSearchParams,
  maxLength = 256,
): string | undefined {
  let header: string | undefined
  const raw = req.rawHeaders
  if (Array.isArray(raw)) {
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!
      if (name.length !== 13 || name.toLowerCase() !== 'last-event-id') continue
      if (header !== undefined) badLastEventId('Last-Event-ID is repeated')
      header = raw[i + 1] ?? ''
    }
  } else {
    const h = req.headers['last-event-id']
    header = Array.isArray(h) ? badLastEventId('Last-Event-ID is repeated') : h
  }
  if (header !== undefined && header !== '') {
    if (header.length > maxLength) badLastEventId('Last-Event-ID is too long')
    // Node hands header bytes over as latin1. Browsers send the id as UTF-8 (HTML §9.2.4), while
    // fetch-based clients (the `eventsource` package) send U+0080-U+00FF as single Latin-1
    // bytes. Valid UTF-8 is read as UTF-8; anything else is kept as the Latin-1 it already is.
    let id = header
    if (!ASCII.test(header)) {
      try {
        id = utf8.decode(Buffer.from(header, 'latin1'))
      } catch {}
    }
    return checkLastEventId(id, maxLength)
  }
  let params: URLSearchParams
  if (query instanceof URLSearchParams) params = query
  else {
    let raw = query
    if (raw === undefined) {
      const url = req.url ?? ''
      const q = url.indexOf('?')
      raw = q === -1 ? '' : url.slice(q + 1)
    }
    if (raw.indexOf('lastEventId') === -1) return undefined
    params = new URLSearchParams(raw)
  }
  const all = params.getAll('lastEventId')
  if (all.length === 0) return undefined
  if (all.length > 1) badLastEventId('lastEventId is repeated')
  const id = all[0]!
  if (id === '') return undefined
  if (Buffer.byteLength(id) > maxLength) badLastEventId('lastEventId is too long')
  return checkLastEventId(id, maxLength)
}

function checkLastEventId(id: string, maxLength: number): string {
  if (Buffer.byteLength(id) > maxLength) badLastEventId('Last-Event-ID is too long')
  if (id.indexOf('\0') !== -1 || id.indexOf('\r') !== -1 || id.indexOf('\n') !== -1) {
    badLastEventId('Last-Event-ID holds CR, LF or NUL')
  }
  return id
}

function badLastEventId(message: string): never {
  throw createError('SWB_ERR_SSE_INVALID_LAST_EVENT_ID', message)
}
