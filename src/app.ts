import { randomBytes } from 'node:crypto'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Span } from '@opentelemetry/api'
import type { Logger } from 'pino'
import proxyaddr from 'proxy-addr'
import { Channels } from './channels.ts'
import { SwitchboardError } from './errors/index.ts'
import { type HealthPaths, mountHealth } from './health.ts'
import { compose, type Handler, type Middleware } from './http/compose.ts'
import { Context, type ContextHost } from './http/context.ts'
import { corsHeadersOf } from './http/cors.ts'
import { type GroupHost, RouteGroup } from './http/group.ts'
import { type InjectInit, injectRequest } from './http/inject.ts'
import {
  addressOf,
  createNodeServer,
  type ListenAddress,
  listenOn,
  onUpgrade,
  type UpgradeTarget,
} from './http/node.ts'
import { errorResponse, writeResponse } from './http/respond.ts'
import { Routable } from './http/routable.ts'
import { type GroupRecord, type RouteRecord, Router } from './http/router.ts'
import { type StaticOptions, serveStatic } from './http/static.ts'
import type { Hub } from './hub/index.ts'
import { type MetricsRecorder, NO_METRICS } from './hub/recorder.ts'
import { turnNow } from './hub/turn-clock.ts'
import {
  type CheckResult,
  type CloseHook,
  type CloseOptions,
  type Closer,
  closeSettings,
  finishRequests,
  Lifecycle,
  type Readiness,
  stopAccepting,
} from './lifecycle.ts'
import { createLogger } from './logger.ts'
import { endWithResponse } from './ops/http-span.ts'
import { type MetricsOptions, PrometheusMetrics } from './ops/prometheus.ts'
import { serveMetrics } from './ops/serve.ts'
import { type ResolvedOptions, resolveOptions, type SwitchboardOptions } from './options.ts'
import {
  HeartbeatRegistry,
  type ResolvedSseOptions,
  resolveSseOptions,
  type SseOptions,
  type SseStream,
} from './sse/index.ts'
import { contextOf, SpanKind, startSpan, withSpan } from './tracing.ts'
import {
  plainRequestError,
  resolveWsRoute,
  type WsBehaviour,
  type WsEndpoint,
  WsRegistry,
} from './ws/index.ts'

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void
type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void

/** Called for every request before routing. May answer (set a response) to stop it there. */
export type RequestHook<S> = (ctx: Context<S>) => void | Promise<void>
/** Called once the response has been sent (or the client went away). */
export type ResponseHook<S> = (ctx: Context<S>) => void
/** Called with any error a request raised; it may answer on `ctx` to replace the default error response. */
export type ErrorHook<S> = (err: unknown, ctx: Context<S>) => void | Promise<void>

/**
 * Handler of an `app.sse()` route. The stream stays open after the handler returns (or its
 * promise settles) until `stream.close()`, the client leaving, or `app.close()`.
 */
export type SseHandler<S> = (stream: SseStream, ctx: Context<S>) => unknown

const REQUEST_ID = /^[\w.:@-]{1,128}$/

/**
 * A Switchboard application: HTTP routes with middleware and hooks, on its own node:http
 * server (`listen`) or beside another framework on an existing one (`attach`).
 *
 * @example
 * const app = new Switchboard()
 * app.get('/hello/:name', (ctx) => ctx.json({ hello: ctx.params.name }))
 * const { url } = await app.listen({ port: 3000 })
 */
export class Switchboard<S extends Record<string, unknown> = Record<string, unknown>>
  extends Routable<S>
  implements ContextHost, GroupHost, UpgradeTarget
{
  /** The resolved, frozen options (`app.options()` registers OPTIONS routes). */
  readonly settings: ResolvedOptions
  /** The app's pino logger. */
  readonly log: Logger

  readonly #router = new Router()
  readonly #middleware: Middleware<S>[] = []
  #miss: Handler = () => {}
  /** The miss answer wrapped in a group's middleware too, per group with middleware (see #missFor). */
  #groupMiss: Map<GroupRecord, Handler> | null = null
  #onRequest: RequestHook<S>[] | null = null
  #onResponse: ResponseHook<S>[] | null = null
  #onError: ErrorHook<S>[] | null = null
  /** Readiness, and the layers holding connections, drained and closed in order. */
  readonly #life = new Lifecycle()
  #notFound: Handler<S> | null = null
  #trust: ((addr: string, i: number) => boolean) | null
  #server: Server | null = null
  #attached: { server: Server; previous: RequestListener[] } | null = null
  #fallback: RequestListener | null = null
  #closing: Promise<void> | null = null
  /** Set once a drain is over: from then on requests are answered 503. */
  #stopped = false
  readonly #idPrefix = randomBytes(4).toString('hex')
  #idCounter = 0
  #recorder: MetricsRecorder = NO_METRICS
  #metrics: PrometheusMetrics | null = null
  /** Where `listen()` starts the separate metrics server (the `metrics: { port }` option). */
  #metricsPort: { port: number; host: string; path: string } | null = null
  #metricsServer: Server | null = null

  constructor(options?: SwitchboardOptions) {
    super()
    this.settings = resolveOptions(options)
    this.log = createLogger(this.settings.logger)
    const tp = this.settings.trustProxy
    this.#trust =
      tp === false
        ? null
        : tp === true
          ? () => true
          : typeof tp === 'number'
            ? (_addr, i) => i < tp
            : proxyaddr.compile(tp as string | string[])
    const m = this.settings.metrics
    if (m !== false) {
      const options: MetricsOptions = m === true ? {} : m
      const metrics = this.metrics(options)
      const path = options.path ?? '/metrics'
      if (options.port !== undefined) {
        this.#metricsPort = { port: options.port, host: options.host ?? '127.0.0.1', path }
      } else {
        this.get(path, async (ctx) => ctx.send(await metrics.text(), 200, metrics.contentType))
      }
    }
  }

  // ---- metrics -------------------------------------------------------------------------

  /**
   * Where the app's layers report what metrics count: disconnects by code, limit refusals,
   * recoveries, broker calls, HTTP requests (see {@link MetricsRecorder}). It records nothing
   * until metrics are turned on; calling it costs a no-op call then.
   *
   * @example
   * if (tooManyFrom(ip)) { app.recorder.limitRefused('connections_per_ip'); return refuse() }
   */
  get recorder(): MetricsRecorder {
    return this.#recorder
  }

  /**
   * Turns Prometheus metrics on (once; later calls return the same object) and returns them:
   * `text()` is what a scrape answers, `registry` the prom-client registry. Serve them with the
   * `metrics` option, or on a route of your own. The list is in docs/operations.md.
   *
   * @example
   * const metrics = app.metrics()
   * app.get('/metrics', async (ctx) => ctx.send(await metrics.text(), 200, metrics.contentType))
   */
  metrics(options?: MetricsOptions): PrometheusMetrics {
    if (this.#metrics === null) {
      const metrics = new PrometheusMetrics(
        {
          connections: () => ({
            websocket: this.#ws?.connections.size ?? 0,
            sse: this.#sse?.registry.size ?? 0,
          }),
          hub: () => this.#channels?.made ?? null,
        },
        options,
      )
      this.#metrics = metrics
      this.useRecorder(metrics)
      this.onClose(() => metrics.stop())
    }
    return this.#metrics
  }

  /** The address of the separate metrics server (`metrics: { port }`) once listening. */
  metricsAddress(): ListenAddress | null {
    return this.#metricsServer?.listening ? addressOf(this.#metricsServer) : null
  }

  /**
   * Sets where the app and its hub report metric events (now, and for a hub made later).
   * `app.metrics()` sets its Prometheus metrics; pass your own {@link MetricsRecorder} to send the
   * same events elsewhere.
   */
  useRecorder(recorder: MetricsRecorder): void {
    this.#recorder = recorder
    this.#channels?.useRecorder(recorder)
  }

  // ---- registration --------------------------------------------------------------------

  /** Adds middleware that wraps every route (and the not-found answer), in order of `use`. */
  use(...middleware: Middleware<S>[]): this {
    for (const m of middleware) {
      if (typeof m !== 'function')
        throw new SwitchboardError('SWB_ERR_INVALID_ROUTE', 'middleware must be a function')
    }
    this.#middleware.push(...middleware)
    this.#router.invalidate()
    return this
  }

  /** A group of routes under `prefix` with its own middleware. */
  group(prefix: string, define?: (group: RouteGroup<S>) => void): RouteGroup<S> {
    const g = new RouteGroup<S>(this, prefix, null)
    define?.(g)
    return g
  }

  /** Serves the files below `root` at `prefix` (GET and HEAD). See `serveStatic`. */
  static(prefix: string, root: string, options?: StaticOptions): this {
    const base = prefix.endsWith('/') ? prefix : `${prefix}/`
    const handler = serveStatic(root, options) as Handler<S>
    this.on(['GET', 'HEAD'], `${base}*`, handler)
    return this
  }

  /** Answers requests no route matches (default: 404 as JSON or HTML by `Accept`). */
  notFound(handler: Handler<S>): this {
    this.#notFound = handler
    this.#router.invalidate()
    return this
  }

  /** Runs before routing, for every request. */
  onRequest(hook: RequestHook<S>): this {
    ;(this.#onRequest ??= []).push(hook)
    return this
  }

  /** Runs after each response is sent. */
  onResponse(hook: ResponseHook<S>): this {
    ;(this.#onResponse ??= []).push(hook)
    return this
  }

  /** Runs for every error a request raises, before the error response is written. */
  onError(hook: ErrorHook<S>): this {
    ;(this.#onError ??= []).push(hook)
    return this
  }

  /** Runs when the app closes. */
  onClose(hook: CloseHook): this {
    this.#life.onClose(hook)
    return this
  }

  /**
   * For layers that hold connections (WebSocket, SSE, channel sessions): drained and closed
   * before the server stops; `sessions` before `transports` (see {@link Lifecycle}).
   */
  addCloser(
    closer: Closer | ((graceful: number) => void | Promise<void>),
    phase: 'sessions' | 'transports' = 'transports',
  ): void {
    this.#life.add(typeof closer === 'function' ? { close: closer } : closer, phase)
  }

  /** @internal Marks a connection as ended by its own layer in a drain (see {@link Closer}). */
  claim(connection: object): void {
    this.#life.claimed.add(connection)
  }

  /**
   * Adds a named readiness check (the channel hub adds `broker`). `/readyz` answers 503 while
   * any check is not ok.
   */
  readinessCheck(name: string, check: () => CheckResult): this {
    this.#life.check(name, check)
    return this
  }

  /** Whether a load balancer should send this node traffic: the app serves, is not draining,
   * and every readiness check is ok. */
  readiness(): Readiness {
    return this.#life.readiness()
  }

  /**
   * Serves liveness and readiness: `GET /livez` answers 200 while the process serves, and
   * `GET /readyz` 200 when {@link readiness} is ready and 503 with the failing checks when not
   * (starting, draining, broker unhealthy).
   *
   * @example
   * app.health() // GET /livez, GET /readyz
   */
  health(paths: HealthPaths = {}): this {
    mountHealth(this, paths)
    return this
  }

  /** @internal GroupHost */
  registerRoute(
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
    return this.#router.add(method, path, handler as Handler, options, group, meta)
  }

  /** @internal GroupHost */
  invalidateRoutes(): void {
    this.#router.invalidate()
  }

  protected addRoute(method: string, path: string, args: readonly unknown[]): void {
    this.registerRoute(method, path, args, null)
  }

  // --- WebSocket and SSE routes (their layers fill these in) ---------------------------------

  #ws: WsRegistry | null = null

  /**
   * A WebSocket route (RFC 6455, permessage-deflate optional). A plain GET on the path answers
   * 426 with `Upgrade: websocket`, unless `plainGet` is given to answer it (the channel endpoint
   * serves its SSE stream that way, on the same path). See docs/websocket.md for the hooks, options and defaults.
   *
   * @example
   * app.ws('/echo', { message: (ws, data, isBinary) => ws.send(data, isBinary) })
   */
  ws<Data = undefined>(
    path: string,
    behaviour: WsBehaviour<Data, Context<S>>,
    plainGet?: Handler<S>,
  ): this {
    const route = resolveWsRoute(behaviour)
    if (this.#ws === null) {
      const registry = new WsRegistry()
      registry.onError = (err) => this.log.error({ err }, 'WebSocket hook failed')
      this.#ws = registry
      this.addCloser({
        collect: (claimed) => registry.drainItems(claimed),
        close: (graceful) => registry.closeAll(Math.min(Math.floor(graceful / 2), 2000)),
      })
    }
    const endpoint: WsEndpoint = { route, registry: this.#ws }
    this.registerRoute(
      'GET',
      path,
      [
        plainGet ??
          ((ctx: Context<S>) => {
            throw plainRequestError(ctx.req, route)
          }),
      ],
      null,
      endpoint,
    )
    return this
  }

  #channels: Channels<S> | null = null

  /**
   * Channels: namespaces, rpc methods and the hub, served at one endpoint (default
   * `/switchboard`: WebSocket upgrade, SSE stream on GET, commands on POST). See docs/channels.md.
   *
   * @example
   * app.channels.namespace('chat', { historySize: 100, presence: true, clientPublish: true })
   */
  get channels(): Channels<S> {
    this.#channels ??= new Channels<S>(this)
    return this.#channels
  }

  /** The channel hub (`app.hub.publish(channel, data)`, presence, history, sessions). */
  get hub(): Hub {
    return this.channels.hub
  }

  #sse: { registry: HeartbeatRegistry; defaults: ResolvedSseOptions } | null = null

  /**
   * A Server-Sent Events route (GET). The handler gets the open stream and the context, whose
   * `params` select what the stream carries; `stream.lastEventId` is the client's resume point.
   * All streams of the app share one heartbeat timer, and `app.close()` ends them.
   * Options are validated once, here. See docs/sse.md.
   *
   * @example
   * app.sse('/events/:channel', (stream, ctx) => {
   *   if (!feeds.has(ctx.params.channel)) return stream.noContent() // 204: stop reconnecting
   *   feeds.get(ctx.params.channel).add(stream)
   *   stream.closed.then(() => feeds.get(ctx.params.channel).delete(stream))
   * })
   */
  sse(path: string, handler: SseHandler<S>, options?: SseOptions): this {
    if (typeof handler !== 'function') {
      throw new SwitchboardError(
        'SWB_ERR_INVALID_ROUTE',
        `SSE ${path}: the handler must be a function`,
      )
    }
    const opts = this.sseOptions(options)
    this.registerRoute('GET', path, [(ctx: Context<S>) => runSse(ctx, handler, opts)], null)
    return this
  }

  /** @internal ContextHost: SSE options completed with this app's shared heartbeat registry. */
  sseOptions(options?: SseOptions | ResolvedSseOptions): ResolvedSseOptions {
    if (this.#sse === null) {
      const registry = new HeartbeatRegistry()
      this.#sse = { registry, defaults: resolveSseOptions({ heartbeat: registry }) }
      this.addCloser({
        collect: (claimed) => registry.drainItems(claimed),
        close: () => registry.closeAll(),
      })
    }
    if (options === undefined) return this.#sse.defaults
    if ('heartbeat' in options) return resolveSseOptions(options)
    return resolveSseOptions({ ...(options as SseOptions), heartbeat: this.#sse.registry })
  }
  // --- end WebSocket and SSE routes ---------------------------------------------------------

  // ---- ContextHost ---------------------------------------------------------------------

  get bodyLimit(): number {
    return this.settings.bodyLimit
  }

  clientIp(req: IncomingMessage): string {
    if (this.#trust === null) return req.socket?.remoteAddress ?? ''
    return proxyaddr(req, this.#trust)
  }

  nextRequestId(req: IncomingMessage): string {
    const name = this.settings.requestIdHeader
    // A client-chosen id is used only when the app says a proxy sets it (trustRequestId).
    if (name !== false && this.settings.trustRequestId) {
      const given = req.headers[name]
      if (typeof given === 'string' && REQUEST_ID.test(given)) return given
    }
    return `${this.#idPrefix}-${(++this.#idCounter).toString(36)}`
  }

  // ---- UpgradeTarget -------------------------------------------------------------------

  get closing(): boolean {
    return this.#closing !== null
  }

  findUpgradeRoute(path: string): { record: RouteRecord; params: Record<string, string> } | null {
    if (this.#router.dirty) this.#compile()
    const found = this.#router.find('GET', path)
    return found && found.record.meta !== undefined ? found : null
  }

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

  // ---- request handling ----------------------------------------------------------------

  #compile(): void {
    this.#router.compile(this.#middleware as Middleware[])
    const answerMiss = (ctx: Context) => this.#answerMiss(ctx)
    this.#miss = compose(this.#middleware as Middleware[], answerMiss)
    this.#groupMiss = null
    for (const r of this.#router.routes) {
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
    let found = typeof asked === 'string' ? this.#router.find(asked, ctx.path) : null
    if (found === null) {
      for (const m of this.#router.allowed(ctx.path)) {
        found = this.#router.find(m, ctx.path)
        if (found !== null) break
      }
    }
    const group = found?.record.group
    return (group && this.#groupMiss.get(group)) || this.#miss
  }

  /** The node:http request listener. Usable directly: `http.createServer(app.handle)`. With an
   * OpenTelemetry SDK registered, each request is a server span (parent: the `traceparent`
   * header), active while its handler runs. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const span = startSpan('HTTP', SpanKind.SERVER, contextOf(req.headers))
    if (span === null) this.#handle(req, res, null)
    else withSpan(span, () => this.#handle(req, res, span))
  }

  #handle(req: IncomingMessage, res: ServerResponse, span: Span | null): void {
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const path = q === -1 ? url : url.slice(0, q)
    const ctx = new Context<S>(this, req, res, path, q === -1 ? '' : url.slice(q + 1))
    if (span !== null) endWithResponse(span, ctx)
    if (this.#router.dirty) this.#compile()
    if (this.#stopped) {
      res.shouldKeepAlive = false
      this.#fail(ctx, new SwitchboardError('SWB_ERR_SERVER_CLOSING'))
      return
    }
    if (this.#onResponse !== null || this.settings.logRequests || this.#recorder.enabled) {
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
    let found = this.#router.find(method, ctx.path)
    if (found === null && method === 'HEAD') found = this.#router.find('GET', ctx.path)
    let run: Handler
    if (found === null) {
      if (this.#fallback !== null && this.#router.allowed(ctx.path).length === 0) {
        ctx.takeover()
        this.#fallback(ctx.req, ctx.res)
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
    const allowed = this.#router.allowed(ctx.path)
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
      writeResponse(ctx, this.#closing !== null)
    } catch (err) {
      this.#fail(ctx, err)
    }
  }

  #fail(ctx: Context<S>, err: unknown): void {
    if (ctx.takenOver || ctx.res.headersSent) {
      this.log.error({ err, reqId: ctx.requestId }, 'error after the response started')
      if (!ctx.res.destroyed) ctx.res.destroy()
      return
    }
    const status = err instanceof SwitchboardError ? err.status : 500
    if (
      status >= 500 &&
      !(err instanceof SwitchboardError && err.code === 'SWB_ERR_SERVER_CLOSING')
    ) {
      this.log.error(
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
      errorResponse(ctx as Context, err, this.settings.dev)
      if (kept !== null) for (const [name, value] of kept) ctx.header(name, value)
      writeResponse(ctx, this.#closing !== null)
    } catch (fatal) {
      this.log.error({ err: fatal }, 'could not write the error response')
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
    const recorder = this.#recorder
    const start = this.settings.logRequests ? performance.now() : recorder.enabled ? turnNow() : 0
    const done = () => {
      ctx.res.off('finish', done)
      ctx.res.off('close', done)
      if (recorder.enabled) {
        const seconds = ((this.settings.logRequests ? performance.now() : turnNow()) - start) / 1000
        recorder.httpRequest(ctx.method, ctx.route, ctx.res.statusCode, seconds)
      }
      if (this.settings.logRequests) {
        this.log.info(
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
            this.log.error({ err }, 'onResponse hook failed')
          }
        }
      }
    }
    ctx.res.on('finish', done)
    ctx.res.on('close', done)
  }

  readonly #upgrade: UpgradeListener = (req, socket, head) => {
    if (onUpgrade(this, req, socket, head)) return
    const server = this.#server ?? this.#attached?.server
    // Another framework on an attached server may own this path (socket.io, a ws server...).
    if (server && server.listenerCount('upgrade') > 1) return
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
  }

  // ---- serving -------------------------------------------------------------------------

  /** Every registered route as `{ method, path }`, in registration order (for landing pages and docs). */
  get routes(): { method: string; path: string }[] {
    return this.#router.routes.map((r) => ({ method: r.method, path: r.path }))
  }

  /** The node:http server the app listens on or is attached to, if any. */
  get server(): Server | null {
    return this.#server ?? this.#attached?.server ?? null
  }

  /**
   * Starts the app's own server. Resolves with the bound address (use `port: 0` for a free
   * port). The options here override the constructor's `host` and `port`.
   */
  async listen(where: { port?: number; host?: string } = {}): Promise<ListenAddress> {
    if (this.#server || this.#attached) throw new SwitchboardError('SWB_ERR_ALREADY_LISTENING')
    if (this.#router.dirty) this.#compile()
    const server = createNodeServer(this.settings, this.handle)
    server.on('upgrade', this.#upgrade)
    this.#server = server
    try {
      const address = await listenOn(
        server,
        where.port ?? this.settings.port,
        where.host ?? this.settings.host,
        this.settings.backlog,
      )
      if (this.#metricsPort !== null && this.#metrics !== null) {
        this.#metricsServer = await serveMetrics(this.#metrics, this.#metricsPort)
      }
      this.log.debug({ url: address.url }, 'listening')
      this.#life.serving()
      return address
    } catch (err) {
      this.#server = null
      throw err
    }
  }

  /** The address the app's own server is bound to. */
  address(): ListenAddress | null {
    return this.#server?.listening ? addressOf(this.#server) : null
  }

  /**
   * Serves this app on an existing node:http server, beside whatever already handles it.
   * Requests that match a Switchboard route (or exist here for another method) are Switchboard's;
   * every other request goes to the server's previous `'request'` listeners unchanged.
   * WebSocket upgrades for Switchboard's routes are taken; others are left to other listeners.
   *
   * @example
   * const server = http.createServer(expressApp)
   * app.attach(server)
   * server.listen(3000)
   */
  attach(server: Server): this {
    if (this.#server || this.#attached) throw new SwitchboardError('SWB_ERR_ALREADY_LISTENING')
    const previous = server.listeners('request') as RequestListener[]
    server.removeAllListeners('request')
    this.#fallback =
      previous.length === 0
        ? null
        : (req, res) => {
            for (const listener of previous) listener.call(server, req, res)
          }
    server.on('request', this.handle)
    server.on('upgrade', this.#upgrade)
    this.#attached = { server, previous }
    this.#life.serving()
    return this
  }

  /**
   * Stops serving: the server stops accepting connections, requests that arrive on open
   * keep-alive sockets are answered 503 with `Connection: close`, in-flight requests may finish
   * within `graceful` ms (then their sockets are cut), live WebSockets and streams are closed,
   * and the `onClose` hooks run. An attached server is handed back to its previous listeners.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.#closing !== null) return this.#closing
    let graceful: number
    let window: number
    try {
      ;({ graceful, window } = closeSettings(options))
    } catch (err) {
      return Promise.reject(err)
    }
    this.#closing = this.#shutdown(graceful, window)
    return this.#closing
  }

  async #shutdown(graceful: number, window: number): Promise<void> {
    if (window > 0) this.log.info({ window }, 'draining')
    await this.#life.drain(window)
    this.#stopped = true
    const server = this.#server
    const stopped = server ? stopAccepting(server) : Promise.resolve()
    const onError = (msg: string) => (err: unknown) => this.log.error({ err }, msg)
    await this.#life.close(graceful, onError('closer failed'))
    if (server) await finishRequests(server, stopped, graceful)
    if (this.#metricsServer !== null) {
      const ms = this.#metricsServer
      await new Promise<void>((resolve) => {
        ms.close(() => resolve())
        ms.closeAllConnections()
      })
    }
    if (this.#attached) {
      const { server: s, previous } = this.#attached
      s.off('request', this.handle)
      s.off('upgrade', this.#upgrade)
      for (const l of previous) s.on('request', l)
    }
    await this.#life.runCloseHooks(onError('onClose hook failed'))
  }

  /**
   * Sends a request through the app in-process, without a socket, and resolves with a Web
   * `Response`. A string input is used verbatim as the request target, so tests can send
   * paths a URL parser would normalise.
   *
   * @example
   * const res = await app.request('/hello/ada')
   * assert.equal(res.status, 200)
   */
  request(input: string | URL | Request, init?: InjectInit): Promise<Response> {
    if (this.#router.dirty) this.#compile()
    return injectRequest(this.handle, input, init)
  }
}

/**
 * Runs an `app.sse()` handler. If it fails before the stream's head is out, the stream is
 * abandoned unwritten and the response handed back, so the error answers normally (403, 500);
 * after that, the stream is closed and the error only logged.
 */
function runSse<S>(ctx: Context<S>, handler: SseHandler<S>, opts: ResolvedSseOptions): unknown {
  const stream = ctx.sse(opts)
  let out: unknown
  try {
    out = handler(stream, ctx)
  } catch (err) {
    return sseFailed(ctx, stream, err)
  }
  if (out instanceof Promise) {
    return out.then(
      () => undefined,
      (err: unknown) => sseFailed(ctx, stream, err),
    )
  }
  return undefined
}

function sseFailed<S>(ctx: Context<S>, stream: SseStream, err: unknown): never {
  if (stream.cancel()) {
    ctx.takenOver = false
    ctx.finalized = false
  } else stream.close()
  throw err
}
