import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { parse as parseCookies, type SerializeOptions, serialize as serializeCookie } from 'cookie'
import { SwitchboardError } from '../errors/index.ts'
import {
  createSseStream,
  type ResolvedSseOptions,
  resolveSseOptions,
  type SseOptions,
  type SseStream,
} from '../sse/index.ts'
import { charsetOf, isJsonType, mediaType, readBody } from './body.ts'
import type { FileOptions } from './static.ts'
import { prepareFile } from './static.ts'

/** What a context needs from the application that created it. */
export interface ContextHost {
  readonly bodyLimit: number
  clientIp(req: IncomingMessage): string
  nextRequestId(req: IncomingMessage): string
  /** SSE options completed with the app's shared heartbeat registry (so close() ends streams). */
  sseOptions?(options?: SseOptions | ResolvedSseOptions): ResolvedSseOptions
  /** True while the app drains or closes: new streams are refused with 503. */
  readonly closing?: boolean
}

/** A response body the node bridge knows how to write. */
export type BodyValue =
  | string
  | Uint8Array
  | Readable
  | { readonly kind: 'file'; readonly path: string; readonly start: number; readonly end: number }
  | null

const EMPTY_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>

/**
 * The per-request context: the request as parsed values, and the response being built.
 * Everything beyond method, path and params is computed on first use, so a handler pays only
 * for what it reads. The response is written by the framework after the handler and the
 * middleware around it have finished, so middleware can still change it on the way out.
 *
 * @example
 * app.post('/rooms/:id/messages', async (ctx) => {
 *   const msg = await ctx.readJson<{ text: string }>()
 *   return ctx.status(201).json({ room: ctx.params.id, text: msg.text })
 * })
 */
export class Context<S = Record<string, unknown>> {
  /** Node's request; use it for anything this class does not cover. */
  readonly req: IncomingMessage
  /** Node's response. Writing to it directly requires `ctx.takeover()` first. */
  readonly res: ServerResponse
  /** Request method, upper case. */
  readonly method: string
  /** Path part of the request target, still percent-encoded, without the query string. */
  readonly path: string
  /** Route parameters, decoded. Wildcards are under `'*'`. */
  params: Record<string, string>
  /** Per-request data shared between middleware and handlers. */
  state: S

  /** Response status; 200 unless set. */
  statusCode = 200
  /** Response body, written by the framework once the chain has finished. */
  body: BodyValue = null
  /** Whether a handler or middleware has produced a response. */
  finalized = false
  /** Whether the caller took over `res` (SSE, manual streaming); the framework then writes nothing. */
  takenOver = false
  /** The pattern of the route that took the request (`'/users/:id'`), '' when none did. */
  route = ''

  #host: ContextHost
  #rawQuery: string
  #headers: Record<string, string | string[]> | null = null
  #searchParams: URLSearchParams | undefined
  #query: Record<string, string> | undefined
  #cookies: Record<string, string | undefined> | undefined
  #ip: string | undefined
  #requestId: string | undefined
  #body: Promise<Buffer> | undefined
  #request: Request | undefined
  /** Per-route body limit; set by the router when the route overrides the app default. */
  bodyLimit: number

  constructor(
    host: ContextHost,
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    rawQuery: string,
  ) {
    this.#host = host
    this.req = req
    this.res = res
    this.method = req.method ?? 'GET'
    this.path = path
    this.#rawQuery = rawQuery
    this.params = EMPTY_PARAMS
    this.state = {} as S
    this.bodyLimit = host.bodyLimit
  }

  // ---- request -------------------------------------------------------------------------

  /** Request headers, as Node parsed them (names in lower case). */
  get headers(): IncomingHttpHeaders {
    return this.req.headers
  }

  /** The query string parsed as URLSearchParams (every value of repeated names). */
  get searchParams(): URLSearchParams {
    this.#searchParams ??= new URLSearchParams(this.#rawQuery)
    return this.#searchParams
  }

  /** The query string as an object of first values. Use `searchParams.getAll()` for repeats. */
  get query(): Record<string, string> {
    if (this.#query === undefined) {
      const out: Record<string, string> = Object.create(null)
      for (const [k, v] of this.searchParams) if (!(k in out)) out[k] = v
      this.#query = out
    }
    return this.#query
  }

  /** Request cookies by name. */
  get cookies(): Record<string, string | undefined> {
    this.#cookies ??= this.req.headers.cookie ? parseCookies(this.req.headers.cookie) : {}
    return this.#cookies
  }

  /** Client IP: the socket's peer, or the forwarded address when `trustProxy` trusts the hops. */
  get ip(): string {
    this.#ip ??= this.#host.clientIp(this.req)
    return this.#ip
  }

  /** A request id: the incoming `x-request-id` when it is well-formed, else a generated one. */
  get requestId(): string {
    this.#requestId ??= this.#host.nextRequestId(this.req)
    return this.#requestId
  }

  /** The request body as bytes, at most `bodyLimit` (413 beyond). Read once, cached. */
  readBytes(): Promise<Buffer> {
    this.#body ??= readBody(this.req, this.bodyLimit)
    return this.#body
  }

  /** The request body as text (UTF-8 unless the `Content-Type` names another supported charset). */
  async readText(): Promise<string> {
    const charset = charsetOf(this.req.headers['content-type']) ?? 'utf-8'
    let decoder: TextDecoder
    try {
      decoder = new TextDecoder(charset)
    } catch {
      throw new SwitchboardError(
        'SWB_ERR_UNSUPPORTED_MEDIA_TYPE',
        `Unsupported charset: ${charset}`,
      )
    }
    return decoder.decode(await this.readBytes())
  }

  /** The request body parsed as JSON. 415 unless `Content-Type` is JSON; 400 when malformed. */
  async readJson<T = unknown>(): Promise<T> {
    const type = mediaType(this.req.headers['content-type'])
    if (!isJsonType(type)) {
      throw new SwitchboardError(
        'SWB_ERR_UNSUPPORTED_MEDIA_TYPE',
        'Expected a JSON body (Content-Type: application/json)',
      )
    }
    const text = await this.readText()
    try {
      return JSON.parse(text) as T
    } catch (cause) {
      throw new SwitchboardError('SWB_ERR_INVALID_JSON', undefined, { cause })
    }
  }

  /**
   * The request body as FormData, from `application/x-www-form-urlencoded` or
   * `multipart/form-data`. 415 for other types; 400 when malformed.
   */
  async readForm(): Promise<FormData> {
    const contentType = this.req.headers['content-type']
    const type = mediaType(contentType)
    if (type === 'application/x-www-form-urlencoded') {
      const form = new FormData()
      for (const [k, v] of new URLSearchParams(await this.readText())) form.append(k, v)
      return form
    }
    if (type === 'multipart/form-data') {
      const bytes = await this.readBytes()
      try {
        return await new Response(new Uint8Array(bytes), {
          headers: { 'content-type': contentType! },
        }).formData()
      } catch (cause) {
        throw new SwitchboardError('SWB_ERR_INVALID_FORM', undefined, { cause })
      }
    }
    throw new SwitchboardError('SWB_ERR_UNSUPPORTED_MEDIA_TYPE', 'Expected a form body')
  }

  /**
   * The request as a Web `Request`, built on first call only. The body is streamed from the
   * socket unless another reader already consumed it, in which case the buffered bytes are used.
   */
  toRequest(): Request {
    if (this.#request) return this.#request
    const host = this.req.headers.host ?? 'localhost'
    const proto = (this.req.socket as { encrypted?: boolean } | undefined)?.encrypted
      ? 'https'
      : 'http'
    const url = `${proto}://${host}${this.req.url ?? '/'}`
    const headers = new Headers()
    const raw = this.req.rawHeaders
    for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!)
    const init: RequestInit & { duplex?: 'half' } = { method: this.method, headers }
    if (this.method !== 'GET' && this.method !== 'HEAD') {
      if (this.#body) {
        const pending = this.#body
        init.body = new ReadableStream({
          async start(controller) {
            controller.enqueue(new Uint8Array(await pending))
            controller.close()
          },
        })
      } else {
        init.body = Readable.toWeb(this.req) as ReadableStream
      }
      init.duplex = 'half'
    }
    this.#request = new Request(url, init)
    return this.#request
  }

  // ---- response ------------------------------------------------------------------------

  /** Sets the response status. */
  status(code: number): this {
    this.statusCode = code
    return this
  }

  /** Sets (or with `append`, adds to) a response header. */
  header(name: string, value: string | number | readonly string[], append = false): this {
    const key = name.toLowerCase()
    const headers = (this.#headers ??= Object.create(null) as Record<string, string | string[]>)
    const v = typeof value === 'number' ? String(value) : (value as string | string[])
    const prev = headers[key]
    if (append && prev !== undefined) {
      headers[key] = ([] as string[]).concat(prev, v)
    } else {
      headers[key] = Array.isArray(v) ? [...v] : v
    }
    return this
  }

  /** The response headers set so far (lower-case names), or null when none. */
  get responseHeaders(): Record<string, string | string[]> | null {
    return this.#headers
  }

  /** Adds a `Set-Cookie` header. */
  setCookie(name: string, value: string, options?: SerializeOptions): this {
    return this.header('set-cookie', serializeCookie(name, value, { path: '/', ...options }), true)
  }

  /** Answers with JSON. */
  json(value: unknown, status?: number): this {
    const text = JSON.stringify(value)
    return this.#finish(
      status,
      'application/json; charset=utf-8',
      text === undefined ? 'null' : text,
    )
  }

  /** Answers with plain text. */
  text(value: string, status?: number): this {
    return this.#finish(status, 'text/plain; charset=utf-8', value)
  }

  /** Answers with HTML. */
  html(value: string, status?: number): this {
    return this.#finish(status, 'text/html; charset=utf-8', value)
  }

  /** Answers with bytes (or with no body when `body` is null). */
  send(body: string | Uint8Array | null, status?: number, contentType?: string): this {
    return this.#finish(
      status,
      contentType ?? (body === null ? undefined : 'application/octet-stream'),
      body,
    )
  }

  /** Redirects to `location` (302 unless given). */
  redirect(location: string, status = 302): this {
    this.header('location', location)
    return this.#finish(status, undefined, null)
  }

  /**
   * Answers with a byte stream: a Node `Readable`, a Web `ReadableStream`, or any async
   * iterable of strings or bytes. The stream is ended and cleaned up if the client goes away.
   */
  stream(
    source: Readable | ReadableStream<Uint8Array> | AsyncIterable<string | Uint8Array>,
    contentType = 'application/octet-stream',
    status?: number,
  ): this {
    const readable =
      source instanceof Readable
        ? source
        : source instanceof ReadableStream
          ? Readable.fromWeb(source as import('node:stream/web').ReadableStream<Uint8Array>)
          : Readable.from(source)
    return this.#finish(status, contentType, readable)
  }

  /**
   * Answers with a file, with its MIME type, `ETag`, `Last-Modified`, conditional requests
   * (304) and single byte ranges (206/416). The path is trusted: for user-supplied paths use
   * `serveStatic`, which confines them to a root.
   */
  async file(path: string, options?: FileOptions): Promise<this> {
    await prepareFile(this, path, options)
    return this
  }

  /**
   * Marks the response as handled by the caller, who writes to `ctx.res` directly (SSE,
   * long-lived streams). The framework then writes nothing for this request.
   */
  takeover(): ServerResponse {
    this.takenOver = true
    this.finalized = true
    return this.res
  }

  /**
   * Opens a Server-Sent Events stream and takes the response over: after this the framework
   * writes nothing to `ctx.res`. Headers set with `ctx.header()` are kept; the SSE headers are
   * the stream's own. A malformed `Last-Event-ID` throws `SWB_ERR_SSE_INVALID_LAST_EVENT_ID`
   * (400) before anything is taken over. Answer `stream.noContent()` in the same turn to send
   * 204 instead, which stops an EventSource from reconnecting. See docs/sse.md.
   *
   * @example
   * app.get('/clock', (ctx) => {
   *   const stream = ctx.sse({ retry: 2000 })
   *   const t = setInterval(() => stream.send({ data: new Date().toISOString() }), 1000)
   *   stream.closed.then(() => clearInterval(t))
   * })
   */
  sse(options?: SseOptions | ResolvedSseOptions): SseStream {
    if (this.takenOver || this.res.headersSent) {
      throw new SwitchboardError('SWB_ERR_SSE_HEADERS_SENT')
    }
    if (this.#host.closing === true) throw new SwitchboardError('SWB_ERR_SERVER_CLOSING')
    const opts = this.#host.sseOptions?.(options) ?? resolveSseOptions(options)
    const stream = createSseStream(this.req, this.res, opts, {
      query: this.#rawQuery,
      headers: this.#headers,
    })
    this.takeover()
    return stream
  }

  /** Takes a handler's return value as the response, unless it is undefined. */
  adopt(value: unknown): void {
    // A taken-over response (SSE) is the caller's; `return ctx.sse()` must not become JSON.
    if (value === undefined || value === this || this.takenOver) return
    if (value instanceof Response) {
      this.#adoptResponse(value)
    } else if (typeof value === 'string') {
      this.text(value)
    } else if (value instanceof Uint8Array) {
      this.send(value)
    } else {
      this.json(value)
    }
  }

  #adoptResponse(response: Response): void {
    this.statusCode = response.status
    response.headers.forEach((v, k) => {
      this.header(k, v, k === 'set-cookie')
    })
    this.body = response.body
      ? Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>)
      : null
    this.finalized = true
  }

  #finish(status: number | undefined, contentType: string | undefined, body: BodyValue): this {
    if (status !== undefined) this.statusCode = status
    if (contentType !== undefined) this.header('content-type', contentType)
    this.body = body
    this.finalized = true
    return this
  }
}
