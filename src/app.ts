import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import { AppRequests, type ErrorHook, type RequestHook, type ResponseHook } from './app-requests.ts'
import { ServerBinding } from './app-server.ts'
import { AppTransports, refusePlainGet, type SseHandler } from './app-transports.ts'
import { Channels } from './channels.ts'
import { SwitchboardError } from './errors/index.ts'
import { type HealthPaths, mountHealth } from './health.ts'
import type { Handler, Middleware } from './http/compose.ts'
import type { Context, ContextHost } from './http/context.ts'
import { type GroupHost, RouteGroup } from './http/group.ts'
import { type InjectInit, injectRequest } from './http/inject.ts'
import type { ListenAddress, UpgradeTarget } from './http/node.ts'
import { Routable } from './http/routable.ts'
import type { GroupRecord, RouteRecord } from './http/router.ts'
import { type StaticOptions, serveStatic } from './http/static.ts'
import type { Hub } from './hub/index.ts'
import { type MetricsRecorder, NO_METRICS } from './hub/recorder.ts'
import {
  type CheckResult,
  type CloseHook,
  type CloseOptions,
  type Closer,
  closeSettings,
  Lifecycle,
  type Readiness,
  stopAccepting,
} from './lifecycle.ts'
import { createLogger } from './logger.ts'
import { type MetricsOptions, PrometheusMetrics } from './ops/prometheus.ts'
import { mountMetrics } from './ops/serve.ts'
import { type ResolvedOptions, resolveOptions, type SwitchboardOptions } from './options.ts'
import type { ResolvedSseOptions, SseOptions } from './sse/index.ts'
import { contextOf, SpanKind, startSpan, withSpan } from './tracing.ts'
import type { WsBehaviour } from './ws/index.ts'

export type { ErrorHook, RequestHook, ResponseHook } from './app-requests.ts'
export type { SseHandler } from './app-transports.ts'

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

  /** Routes, middleware, hooks, and what happens to each request (app-requests.ts). */
  readonly #requests: AppRequests<S>
  /** The registries behind the WebSocket and SSE routes (app-transports.ts). */
  readonly #transports = new AppTransports(this)
  /** Readiness, and the layers holding connections, drained and closed in order. */
  readonly #life = new Lifecycle()
  /** The servers the app listens on or is attached to (app-server.ts). */
  readonly #binding: ServerBinding
  #closing: Promise<void> | null = null
  #recorder: MetricsRecorder = NO_METRICS
  #metrics: PrometheusMetrics | null = null

  constructor(options?: SwitchboardOptions) {
    super()
    this.settings = resolveOptions(options)
    this.log = createLogger(this.settings.logger)
    this.#requests = new AppRequests<S>(this)
    this.#binding = new ServerBinding(this, this.#requests)
    this.#binding.metricsAt = mountMetrics(this, this.settings.metrics)
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
          connections: () => this.#transports.connections(),
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
    return this.#binding.metricsAddress()
  }

  /**
   * Sets where the app and its hub report metric events (now, and for a hub made later).
   * `app.metrics()` sets its Prometheus metrics; pass your own {@link MetricsRecorder} to send the
   * same events elsewhere.
   */
  useRecorder(recorder: MetricsRecorder): void {
    this.#recorder = recorder
    this.#requests.recorder = recorder
    this.#channels?.useRecorder(recorder)
  }

  // ---- registration --------------------------------------------------------------------

  /** Adds middleware that wraps every route (and the not-found answer), in order of `use`. */
  use(...middleware: Middleware<S>[]): this {
    this.#requests.use(middleware)
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
    this.#requests.notFound(handler)
    return this
  }

  /** Runs before routing, for every request. */
  onRequest(hook: RequestHook<S>): this {
    this.#requests.onRequest(hook)
    return this
  }

  /** Runs after each response is sent. */
  onResponse(hook: ResponseHook<S>): this {
    this.#requests.onResponse(hook)
    return this
  }

  /** Runs for every error a request raises, before the error response is written. */
  onError(hook: ErrorHook<S>): this {
    this.#requests.onError(hook)
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
    return this.#requests.add(method, path, args, group, meta)
  }

  /** @internal GroupHost */
  invalidateRoutes(): void {
    this.#requests.router.invalidate()
  }

  protected addRoute(method: string, path: string, args: readonly unknown[]): void {
    this.registerRoute(method, path, args, null)
  }

  // --- WebSocket and SSE routes (their layers fill these in) ---------------------------------

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
    const endpoint = this.#transports.wsEndpoint(behaviour)
    this.registerRoute('GET', path, [plainGet ?? refusePlainGet<S>(endpoint.route)], null, endpoint)
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
    this.registerRoute('GET', path, [this.#transports.sseRoute(path, handler, options)], null)
    return this
  }

  /** @internal ContextHost: SSE options completed with this app's shared heartbeat registry. */
  sseOptions(options?: SseOptions | ResolvedSseOptions): ResolvedSseOptions {
    return this.#transports.sseOptions(options)
  }
  // --- end WebSocket and SSE routes ---------------------------------------------------------

  // ---- ContextHost (request contexts ask AppRequests itself; these answer the same) --------

  get bodyLimit(): number {
    return this.settings.bodyLimit
  }

  clientIp(req: IncomingMessage): string {
    return this.#requests.clientIp(req)
  }

  nextRequestId(req: IncomingMessage): string {
    return this.#requests.nextRequestId(req)
  }

  // ---- UpgradeTarget -------------------------------------------------------------------

  get closing(): boolean {
    return this.#closing !== null
  }

  findUpgradeRoute(path: string): { record: RouteRecord; params: Record<string, string> } | null {
    return this.#requests.findUpgradeRoute(path)
  }

  upgradeContext(
    req: IncomingMessage,
    path: string,
    rawQuery: string,
    params: Record<string, string>,
  ): Context<S> {
    return this.#requests.upgradeContext(req, path, rawQuery, params)
  }

  // ---- request handling ----------------------------------------------------------------

  /** The node:http request listener. Usable directly: `http.createServer(app.handle)`. With an
   * OpenTelemetry SDK registered, each request is a server span (parent: the `traceparent`
   * header), active while its handler runs. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const span = startSpan('HTTP', SpanKind.SERVER, contextOf(req.headers))
    if (span === null) this.#requests.handle(req, res, null)
    else withSpan(span, () => this.#requests.handle(req, res, span))
  }

  // ---- serving -------------------------------------------------------------------------

  /** Every registered route as `{ method, path }`, in registration order (for landing pages and docs). */
  get routes(): { method: string; path: string }[] {
    return this.#requests.router.routes.map((r) => ({ method: r.method, path: r.path }))
  }

  /** The node:http server the app listens on or is attached to, if any. */
  get server(): Server | null {
    return this.#binding.server
  }

  /**
   * Starts the app's own server. Resolves with the bound address (use `port: 0` for a free
   * port). The options here override the constructor's `host` and `port`.
   */
  async listen(where: { port?: number; host?: string } = {}): Promise<ListenAddress> {
    if (this.#binding.bound) throw new SwitchboardError('SWB_ERR_ALREADY_LISTENING')
    this.#requests.compile()
    const address = await this.#binding.listen(where, this.#metrics)
    this.log.debug({ url: address.url }, 'listening')
    this.#life.serving()
    return address
  }

  /** The address the app's own server is bound to. */
  address(): ListenAddress | null {
    return this.#binding.address()
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
    if (this.#binding.bound) throw new SwitchboardError('SWB_ERR_ALREADY_LISTENING')
    this.#binding.attach(server)
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
    this.#requests.stopped = true
    const server = this.#binding.own
    const stopped = server ? stopAccepting(server) : Promise.resolve()
    const onError = (msg: string) => (err: unknown) => this.log.error({ err }, msg)
    await this.#life.close(graceful, onError('closer failed'))
    await this.#binding.release(server, stopped, graceful)
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
    this.#requests.compile()
    return injectRequest(this.handle, input, init)
  }
}
