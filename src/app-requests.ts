// The request pipeline of a `Switchboard` app: its route table, middleware and hooks, the path
// of one HTTP request from the node:http listener to the written response (routing, the
// OPTIONS / 405 / 404 answers, request and error hooks, the error response, the response watch
// that logs and counts), and the host every request's `Context` asks for its client address
// and request id. Apart from app.ts so the facade reads as the list of what an app offers; the
// app owns one `AppRequests` and delegates to it. Internal (not exported from index.ts), except
// the hook types, which app.ts re-exports.
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Span } from '@opentelemetry/api'
import type { Logger } from 'pino'
import proxyaddr from 'proxy-addr'
import { SwitchboardError } from './errors/index.ts'
import { compose, type Handler, type Middleware } from './http/compose.ts'
import { Context, type ContextHost } from './http/context.ts'
import { corsHeadersOf } from './http/cors.ts'
import { errorResponse, writeResponse } from './http/respond.ts'
import { type GroupRecord, type RouteRecord, Router } from './http/router.ts'
import { type MetricsRecorder, NO_METRICS } from './hub/recorder.ts'
import { turnNow } from './hub/turn-clock.ts'
import { endWithResponse } from './ops/http-span.ts'
import type { ResolvedOptions } from './options.ts'
import type { ResolvedSseOptions, SseOptions } from './sse/index.ts'

/** Called for every request before routing. May answer (set a response) to stop it there. */
export type RequestHook<S> = (ctx: Context<S>) => void | Promise<void>
/** Called once the response has been sent (or the client went away). */
export type ResponseHook<S> = (ctx: Context<S>) => void
/** Called with any error a request raised; it may answer on `ctx` to replace the default error response. */
export type ErrorHook<S> = (err: unknown, ctx: Context<S>) => void | Promise<void>

/** @internal A node:http `'request'` listener. */
export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void

/** @internal What the pipeline needs of its app. */
export interface RequestsHost {
  readonly settings: ResolvedOptions
  readonly log: Logger
  /** True once `close()` was called: responses then carry `Connection: close`. */
  readonly closing: boolean
  sseOptions(options?: SseOptions | ResolvedSseOptions): ResolvedSseOptions
}

const REQUEST_ID = /^[\w.:@-]{1,128}$/

/** @internal The route table, middleware, hooks and per-request flow of an app (see above). */
export class AppRequests<S> implements ContextHost {
  readonly router = new Router()
  /** Where requests are counted (the app's recorder; `useRecorder` sets it). */
  recorder: MetricsRecorder = NO_METRICS
  /** On an attached server, its previous listeners: they get what no route here knows. */
  fallback: RequestListener | null = null
  /** Set once a drain is over: from then on requests are answered 503. */
  stopped = false
  readonly #host: RequestsHost
  readonly #settings: ResolvedOptions
  readonly #log: Logger
  readonly #middleware: Middleware<S>[] = []
  #miss: Handler = () => {}
  /** The miss answer wrapped in a group's middleware too, per group with middleware (see #missFor). */
  #groupMiss: Map<GroupRecord, Handler> | null = null
  #onRequest: RequestHook<S>[] | null = null
  #onResponse: ResponseHook<S>[] | null = null
  #onError: ErrorHook<S>[] | null = null
  #notFound: Handler<S> | null = null
  readonly #trust: ((addr: string, i: number) => boolean) | null
  readonly #idPrefix = randomBytes(4).toString('hex')
  #idCounter = 0

  /** Made once the app's `settings` and `log` are set. */
  constructor(host: RequestsHost) {
    this.#host = host
    this.#settings = host.settings
    this.#log = host.log
    const tp = host.settings.trustProxy
    this.#trust =
      tp === false
        ? null
        : tp === true
          ? () => true
          : typeof tp === 'number'
            ? (_addr, i) => i < tp
            : proxyaddr.compile(tp as string | string[])
  }

  // ---- ContextHost: what each request's Context asks ----------------------------------

  get bodyLimit(): number {
    return this.#settings.bodyLimit
  }

  clientIp(req: IncomingMessage): string {
    if (this.#trust === null) return req.socket?.remoteAddress ?? ''
    return proxyaddr(req, this.#trust)
  }

  nextRequestId(req: IncomingMessage): string {
    const name = this.#settings.requestIdHeader
    // A client-chosen id is used only when the app says a proxy sets it (trustRequestId).
    if (name !== false && this.#settings.trustRequestId) {
      const given = req.headers[name]
      if (typeof given === 'string' && REQUEST_ID.test(given)) return given
    }
    return `${this.#idPrefix}-${(++this.#idCounter).toString(36)}`
  }

  sseOptions(options?: SseOptions | ResolvedSseOptions): ResolvedSseOptions {
    return this.#host.sseOptions(options)
  }

  get closing(): boolean {
    return this.#host.closing
  }

  // ---- registration --------------------------------------------------------------------

  /** See `Switchboard.use`. */
  use(middleware: Middleware<S>[]): void {
    for (const m of middleware) {
      if (typeof m !== 'function')
        throw new SwitchboardError('SWB_ERR_INVALID_ROUTE', 'middleware must be a function')
    }
    this.#middleware.push(...middleware)
    this.router.invalidate()
  }

  /** See `Switchboard.notFound`. */
  notFound(handler: Handler<S>): void {
    this.#notFound = handler
    this.router.invalidate()
  }

  onRequest(hook: RequestHook<S>): void {
    ;(this.#onRequest ??= []).push(hook)
  }

  onResponse(hook: ResponseHook<S>): void {
    ;(this.#onResponse ??= []).push(hook)
  }

  onError(hook: ErrorHook<S>): void {
    ;(this.#onError ??= []).push(hook)
  }

  /** Adds a route from a `get()`/`on()`/group call's arguments: `[options?] | [...middleware], handler`. */
  add(
    method: string,
    path: string,
    args: readonly unknown[],
    group: GroupRecord | null,
    meta?: unknown,
  ): RouteRecord {
    const handler = args[args.length - 1]
    const first = args[0]
    let options = {}
    if (args.length === 2 && typeof first === 'object' && first !== null) options = first
    else if (args.length > 1) options = { middleware: args.slice(0, -1) }
    if (typeof handler !== 'function') {
      throw new SwitchboardError(
        'SWB_ERR_INVALID_ROUTE',
        `${method} ${path}: the last argument must be the handler`,
      )
    }
    return this.router.add(method, path, handler as Handler, options, group, meta)
  }

  /** Composes the chains if a route, middleware or the not-found handler changed since. */
  compile(): void {
    if (this.router.dirty) this.#compile()
  }

  /** See `UpgradeTarget.findUpgradeRoute`. */
  findUpgradeRoute(path: string): { record: RouteRecord; params: Record<string, string> } | null {
    if (this.router.dirty) this.#compile()
    const found = this.router.find('GET', path)
    return found && found.record.meta !== undefined ? found : null
  }

  /** See `UpgradeTarget.upgradeContext`. */
  upgradeContext(
    req: IncomingMessage,
    path: string,
    rawQuery: string,
    params: Record<string, string>,
  ): Context<S> {
    const ctx = new Context<S>(this, req, undefined as unknown as ServerResponse, path, rawQuery)
    ctx.params = params
    return ctx
  }

  #compile(): void {
    this.router.compile(this.#middleware as Middleware[])
    const answerMiss = (ctx: Context) => this.#answerMiss(ctx)
    this.#miss = compose(this.#middleware as Middleware[], answerMiss)
    this.#groupMiss = null
    for (const r of this.router.routes) {
      if (r.group === null || this.#groupMiss?.has(r.group)) continue
      const chain: Middleware[] = []
      for (let g: GroupRecord | null = r.group; g; g = g.parent) chain.unshift(...g.middleware)
      if (chain.length === 0) continue
      ;(this.#groupMiss ??= new Map()).set(
        r.group,
        compose([...(this.#middleware as Middleware[]), ...chain], answerMiss),
      )
    }
  }

  /**
   * The chain for a request no route takes. On a path a group's route owns (so OPTIONS and 405
   * answers), the group's middleware runs too, so `group.use(cors())` answers preflights there.
   * The route of the preflight's `Access-Control-Request-Method` picks the group, else the first.
   */
  #missFor(ctx: Context<S>): Handler {
    if (this.#groupMiss === null) return this.#miss
    const asked = ctx.headers['access-control-request-method']
    let found = typeof asked === 'string' ? this.router.find(asked, ctx.path) : null
    if (found === null) {
      for (const m of this.router.allowed(ctx.path)) {
        found = this.router.find(m, ctx.path)
        if (found !== null) break
      }
    }
    const group = found?.record.group
    return (group && this.#groupMiss.get(group)) || this.#miss
  }

  // ---- one request ---------------------------------------------------------------------

  /** One request, from the app's `handle` listener (`span`: its server span, if tracing). */
  handle(req: IncomingMessage, res: ServerResponse, span: Span | null): void {
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const path = q === -1 ? url : url.slice(0, q)
    const ctx = new Context<S>(this, req, res, path, q === -1 ? '' : url.slice(q + 1))
    if (span !== null) endWithResponse(span, ctx)
    if (this.router.dirty) this.#compile()
    if (this.stopped) {
      res.shouldKeepAlive = false
      this.#fail(ctx, new SwitchboardError('SWB_ERR_SERVER_CLOSING'))
      return
    }
    if (this.#onResponse !== null || this.#settings.logRequests || this.recorder.enabled) {
      this.#watchResponse(ctx)
    }
    if (this.#onRequest !== null) {
      this.#runRequestHooks(ctx).then(
        () => (ctx.finalized ? this.#finish(ctx) : this.#route(ctx)),
        (err) => this.#fail(ctx, err),
      )
      return
    }
    this.#route(ctx)
  }

  #route(ctx: Context<S>): void {
    const method = ctx.method
    let found = this.router.find(method, ctx.path)
    if (found === null && method === 'HEAD') found = this.router.find('GET', ctx.path)
    let run: Handler
    if (found === null) {
      if (this.fallback !== null && this.router.allowed(ctx.path).length === 0) {
        ctx.takeover()
        this.fallback(ctx.req, ctx.res)
        return
      }
      run = this.#missFor(ctx)
    } else {
      ctx.params = found.params
      ctx.route = found.record.path
      if (found.record.bodyLimit !== undefined) ctx.bodyLimit = found.record.bodyLimit
      run = found.record.run
    }
    let out: unknown
    try {
      out = run(ctx as Context)
    } catch (err) {
      this.#fail(ctx, err)
      return
    }
    if (out instanceof Promise) {
      out.then(
        (value) => {
          ctx.adopt(value)
          this.#finish(ctx)
        },
        (err) => this.#fail(ctx, err),
      )
    } else {
      ctx.adopt(out)
      this.#finish(ctx)
    }
  }

  async #answerMiss(ctx: Context): Promise<unknown> {
    const allowed = this.router.allowed(ctx.path)
    if (allowed.length > 0) {
      if (ctx.method === 'OPTIONS') {
        ctx.header('allow', allowed.join(', '))
        return ctx.send(null, 204)
      }
      ctx.header('allow', allowed.join(', '))
      throw new SwitchboardError('SWB_ERR_METHOD_NOT_ALLOWED')
    }
    if (this.#notFound !== null) return this.#notFound(ctx as Context<S>)
    throw new SwitchboardError('SWB_ERR_NOT_FOUND', `No route for ${ctx.method} ${ctx.path}`)
  }

  async #runRequestHooks(ctx: Context<S>): Promise<void> {
    for (const hook of this.#onRequest!) {
      await hook(ctx)
      if (ctx.finalized) return
    }
  }

  #finish(ctx: Context<S>): void {
    try {
      writeResponse(ctx, this.#host.closing)
    } catch (err) {
      this.#fail(ctx, err)
    }
  }

  #fail(ctx: Context<S>, err: unknown): void {
    if (ctx.takenOver || ctx.res.headersSent) {
      this.#log.error({ err, reqId: ctx.requestId }, 'error after the response started')
      if (!ctx.res.destroyed) ctx.res.destroy()
      return
    }
    const status = err instanceof SwitchboardError ? err.status : 500
    if (
      status >= 500 &&
      !(err instanceof SwitchboardError && err.code === 'SWB_ERR_SERVER_CLOSING')
    ) {
      this.#log.error(
        { err, reqId: ctx.requestId, method: ctx.method, url: ctx.req.url },
        'request failed',
      )
    }
    if (this.#onError === null) {
      this.#renderError(ctx, err)
      return
    }
    ctx.finalized = false
    ctx.body = null
    this.#runErrorHooks(ctx, err).then(
      () => (ctx.finalized ? this.#finish(ctx) : this.#renderError(ctx, err)),
      (hookErr) => this.#renderError(ctx, hookErr),
    )
  }

  async #runErrorHooks(ctx: Context<S>, err: unknown): Promise<void> {
    for (const hook of this.#onError!) {
      await hook(err, ctx)
      if (ctx.finalized) return
    }
  }

  #renderError(ctx: Context<S>, err: unknown): void {
    try {
      // CORS headers say who may read the answer, so the error answer keeps them (see cors.ts).
      const kept = corsHeadersOf(ctx.responseHeaders)
      errorResponse(ctx as Context, err, this.#settings.dev)
      if (kept !== null) for (const [name, value] of kept) ctx.header(name, value)
      writeResponse(ctx, this.#host.closing)
    } catch (fatal) {
      this.#log.error({ err: fatal }, 'could not write the error response')
      if (!ctx.res.headersSent) {
        // The failed writeHead may have set its own status text: name the 500's explicitly.
        ctx.res.writeHead(500, 'Internal Server Error', {
          'content-type': 'text/plain; charset=utf-8',
        })
        ctx.res.end('Internal Server Error')
      } else ctx.res.destroy()
    }
  }

  #watchResponse(ctx: Context<S>): void {
    const recorder = this.recorder
    const start = this.#settings.logRequests ? performance.now() : recorder.enabled ? turnNow() : 0
    const done = () => {
      ctx.res.off('finish', done)
      ctx.res.off('close', done)
      if (recorder.enabled) {
        const seconds =
          ((this.#settings.logRequests ? performance.now() : turnNow()) - start) / 1000
        recorder.httpRequest(ctx.method, ctx.route, ctx.res.statusCode, seconds)
      }
      if (this.#settings.logRequests) {
        this.#log.info(
          {
            reqId: ctx.requestId,
            method: ctx.method,
            url: ctx.req.url,
            status: ctx.res.statusCode,
            ms: +(performance.now() - start).toFixed(2),
          },
          'request',
        )
      }
      if (this.#onResponse) {
        for (const hook of this.#onResponse) {
          try {
            hook(ctx)
          } catch (err) {
            this.#log.error({ err }, 'onResponse hook failed')
          }
        }
      }
    }
    ctx.res.on('finish', done)
    ctx.res.on('close', done)
  }
}
