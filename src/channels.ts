import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { streamEndpoint } from './channels-sse.ts'
import { SwitchboardError } from './errors/index.ts'
import type { Context } from './http/context.ts'
import {
  defineWireFormat,
  type HttpRequestInfo,
  Hub,
  type HubOptions,
  MAX_CHANNEL_LENGTH,
  type Namespace,
  type NamespaceOptions,
  type RpcHandler,
  Session,
  SUBPROTOCOLS,
  WsTransport,
  wireFormatFor,
  wsJsonFormat,
} from './hub/index.ts'
import type { MetricsRecorder } from './hub/recorder.ts'
import type { HubLogger } from './hub/report.ts'
import type { CheckResult, Closer } from './lifecycle.ts'
import { msgpackCodec } from './protocol/index.ts'
import type { ResolvedSseOptions, SseOptions } from './sse/index.ts'
import type { WsBehaviour } from './ws/index.ts'
import { prepareMessage } from './ws/index.ts'
import {
  type OriginOption,
  type OriginPolicy,
  originAllowed,
  resolveOriginPolicy,
} from './ws/origin.ts'

/** Options of `app.channels.configure()`: the hub's options plus where the endpoint lives. */
export interface ChannelsOptions extends HubOptions {
  /**
   * Path of the channel endpoint. One path serves the WebSocket upgrade, the SSE stream (plain
   * GET) and commands over POST; `<path>/ticket` issues stream tickets. Default `'/switchboard'`.
   */
  path?: string
  /** Largest WebSocket message a client may send. Default 65,536 (the hub's command limit). */
  maxPayload?: number
  /** Seconds of silence before a WebSocket is pinged and then closed. Default 60. */
  idleTimeout?: number
  /**
   * Which page origins may use the endpoint with what a browser sends by itself (cookies):
   * every WebSocket upgrade, and SSE streams, POST commands and ticket requests that carry a
   * cookie but no bearer token and no ticket (when `auth` is set). Default `'same-origin'`; a list of origins
   * or a predicate allows exactly those; `'any'` allows every origin (see docs/security.md).
   * Refused: 403 `SWB_ERR_WS_ORIGIN_FORBIDDEN` (upgrade), `SWB_ERR_AUTH_ORIGIN_FORBIDDEN` (others).
   */
  allowedOrigins?: OriginOption
}

/** What the app gives the channel endpoint: route registration. */
export interface ChannelsHost<S> {
  ws<Data>(
    path: string,
    behaviour: WsBehaviour<Data, Context<S>>,
    plainGet?: (ctx: Context<S>) => unknown,
  ): unknown
  post(path: string, handler: (ctx: Context<S>) => unknown): unknown
  get(path: string, handler: (ctx: Context<S>) => unknown): unknown
  addCloser(closer: Closer, phase?: 'sessions' | 'transports'): void
  /** Marks a connection the hub ends itself in a drain (with its `disconnect` push). */
  claim(connection: object): void
  /** SSE options completed with the app's shared heartbeat, validated (once per call). */
  sseOptions(options: SseOptions): ResolvedSseOptions
  readinessCheck(name: string, check: () => CheckResult): unknown
  /** The app's logger: the hub logs what it catches there. */
  readonly log: HubLogger
  /** The app's metrics recorder of the moment, given to the hub when it is made. */
  readonly recorder: MetricsRecorder
}

/** What a channel WebSocket's upgrade admitted, kept until `open` makes the session. */
interface Admitted {
  readonly ip: string
  readonly request: HttpRequestInfo | null
}

/**
 * The browser bundle of the client SDK (`npm run build:client`), found beside the compiled
 * package (dist/client/) or, when running from source, in the package's dist/.
 */
function clientBundlePath(): string | null {
  for (const rel of ['./client/switchboard-client.js', '../dist/client/switchboard-client.js']) {
    const file = fileURLToPath(new URL(rel, import.meta.url))
    if (existsSync(file)) return file
  }
  return null
}

function bearer(ctx: Context<unknown>): string | undefined {
  const auth = ctx.headers.authorization
  return typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : undefined
}

/**
 * The channels a ticket request names: `?channel=…` parameters, or `{ "channels": [...] }` as a
 * JSON body. A ticket opens a stream of those channels only, so naming none is an error.
 */
async function ticketChannels(ctx: Context<unknown>, max: number): Promise<string[]> {
  let channels: unknown = ctx.searchParams.getAll('channel')
  if ((channels as string[]).length === 0 && isJsonRequest(ctx)) {
    channels = (await ctx.readJson<{ channels?: unknown } | null>())?.channels
  }
  if (
    !Array.isArray(channels) ||
    channels.length === 0 ||
    channels.length > max ||
    !channels.every((c) => typeof c === 'string' && c.length <= MAX_CHANNEL_LENGTH)
  ) {
    throw new SwitchboardError(
      'SWB_ERR_PROTOCOL_BAD_COMMAND',
      `A ticket is for the channels of one stream: name 1 to ${max} of them (?channel=… or {"channels":[…]})`,
    )
  }
  return channels as string[]
}

function isJsonRequest(ctx: Context<unknown>): boolean {
  const type = ctx.headers['content-type']
  return typeof type === 'string' && /^application\/json\b/i.test(type)
}

/** The request as the connect hook sees it (`ConnectRequest.request`). */
function requestInfo(ctx: Context<unknown>): HttpRequestInfo {
  let headers = ctx.headers as Record<string, string | string[] | undefined>
  if (Array.isArray(headers['set-cookie'])) {
    // The one header Node keeps as an array; a request has no use for it.
    const { 'set-cookie': _drop, ...rest } = headers
    headers = rest
  }
  return {
    headers: headers as Readonly<Record<string, string | undefined>>,
    cookies: ctx.cookies as Readonly<Record<string, string>>,
    remoteAddress: ctx.ip,
    origin: ctx.headers.origin,
    url: ctx.req.url ?? '/',
  }
}

/**
 * Whether a request that only what the browser attaches by itself could authenticate (a cookie,
 * or HTTP Basic credentials: no bearer token, no ticket) comes from an allowed origin. Browsers
 * send `Origin` on every cross-origin `EventSource` and `fetch` and on every POST; without one,
 * `Sec-Fetch-Site` (sent by current browsers on every request) tells a cross-site image or link
 * from a same-origin `EventSource`, and a client that sends neither is not a browser page. A
 * request with no such credential has nothing to hijack and is not checked.
 */
function ambientAllowed(policy: OriginPolicy, ctx: Context<unknown>): boolean {
  if (policy === null) return true
  if (ctx.headers.cookie === undefined && ctx.headers.authorization === undefined) return true
  const origin = ctx.headers.origin
  if (origin !== undefined) return originAllowed(policy, origin, ctx.headers.host)
  const site = ctx.headers['sec-fetch-site']
  return site === undefined || site === 'same-origin' || site === 'none'
}

/** A POSTed command: JSON of at most `max` bytes, the limit a WebSocket frame has (413 beyond). */
async function readCommand(ctx: Context<unknown>, max: number): Promise<unknown> {
  ctx.bodyLimit = Math.min(ctx.bodyLimit, max)
  try {
    return await ctx.readJson()
  } catch (err) {
    if (err instanceof SwitchboardError && err.code === 'SWB_ERR_BODY_TOO_LARGE') {
      throw new SwitchboardError(
        'SWB_ERR_PROTOCOL_MESSAGE_TOO_LARGE',
        `a command is at most ${max} bytes (maxCommandBytes)`,
      )
    }
    throw err
  }
}

/**
 * Channels on an app: the hub (sessions, channels, history, presence, fan-out) and its
 * endpoint. The hub is created, and the endpoint mounted, on first use, and `configure()` is a
 * use: call it first, once, to choose the broker, auth, limits or path.
 *
 * @example
 * app.channels.configure({ auth: jwtAuth({ secret }) })
 * app.channels.namespace('chat', { historySize: 100, presence: true, clientPublish: true })
 * app.post('/announce', async (ctx) => ctx.json(await app.hub.publish('chat:lobby', await ctx.readJson())))
 */
export class Channels<S> {
  readonly #host: ChannelsHost<S>
  #options: ChannelsOptions = {}
  #hub: Hub | null = null

  constructor(host: ChannelsHost<S>) {
    this.#host = host
  }

  /** Sets the hub's options and the endpoint path, then starts the hub and mounts the endpoint.
   * Once, before anything else uses the hub. */
  configure(options: ChannelsOptions): this {
    if (this.#hub !== null) {
      throw new SwitchboardError(
        'SWB_ERR_INVALID_OPTION',
        'channels.configure() must come before the hub is first used',
      )
    }
    this.#options = { ...options }
    // Configuring is using: the hub starts and the endpoint is mounted now, so a path set here
    // answers before anything else touches `app.hub`.
    void this.hub
    return this
  }

  /** The endpoint path (default `/switchboard`). */
  get path(): string {
    return this.#options.path ?? '/switchboard'
  }

  /** The hub: publish, presence, history, sessions. Creates it and mounts the endpoint on first use. */
  get hub(): Hub {
    if (this.#hub === null) {
      const {
        path: _path,
        maxPayload: _m,
        idleTimeout: _i,
        allowedOrigins: _o,
        ...hubOptions
      } = this.#options
      this.#hub = new Hub({ logger: this.#host.log, ...hubOptions })
      this.#hub.recorder = this.#host.recorder
      this.#mount(this.#hub)
    }
    return this.#hub
  }

  /** The hub if it was made (metrics read it without making one). */
  get made(): Hub | null {
    return this.#hub
  }

  /** @internal Sets the hub's metrics recorder, if the hub is made (else it takes the host's). */
  useRecorder(recorder: MetricsRecorder): void {
    if (this.#hub !== null) this.#hub.recorder = recorder
  }

  /** Declares a namespace (the part of a channel name before `:`). See docs/channels.md. */
  namespace(name: string, options?: NamespaceOptions): Namespace {
    return this.hub.namespace(name, options)
  }

  /** Registers an rpc method clients can call. */
  rpc(method: string, handler: RpcHandler): this {
    this.hub.rpc(method, handler)
    return this
  }

  #mount(hub: Hub): void {
    const host = this.#host
    const path = this.path
    const base = path === '/' ? '' : path
    const options = this.#options
    // WebSocket frames are framed once per publication too (prepareMessage), not per socket.
    const formats = {
      json: defineWireFormat({
        name: 'ws-json',
        codec: wsJsonFormat.codec,
        native: prepareMessage,
      }),
      msgpack: defineWireFormat({
        name: 'ws-msgpack',
        codec: msgpackCodec,
        native: prepareMessage,
      }),
    }
    const origins = resolveOriginPolicy(options.allowedOrigins, 'channels option "allowedOrigins"')
    const hasAuth = options.auth !== undefined
    /** The connect hook's view of a request, after the origin check when only cookies could
     * authenticate it (`explicit`: it carries a bearer token or a ticket). */
    const authRequest = (ctx: Context<S>, explicit: boolean): HttpRequestInfo | undefined => {
      if (!hasAuth) return undefined
      if (!explicit && !ambientAllowed(origins, ctx)) {
        throw new SwitchboardError('SWB_ERR_AUTH_ORIGIN_FORBIDDEN')
      }
      return requestInfo(ctx)
    }
    const outbox = options.maxOutboxBytes ?? 1024 * 1024
    const sseOptions: SseOptions = {
      // The hub's slow-consumer policy acts first; the stream's own mark is a backstop above it.
      highWaterMark: outbox * 2,
      policy: 'close' as const,
      // Ids carry every channel's cursor (about 15 bytes each), so allow long ones.
      maxLastEventIdLength: 8192,
    }
    const openStream = streamEndpoint(hub, host, sseOptions, { bearer, authRequest })

    // `ws.data` is what the upgrade admitted (the client's address, and the request for the
    // connect hook) until `open` replaces it with the session.
    this.#host.ws<Session | Admitted | null>(
      path,
      {
        subprotocols: [...SUBPROTOCOLS],
        maxPayload: options.maxPayload ?? options.maxCommandBytes ?? 65_536,
        idleTimeout: options.idleTimeout ?? 60,
        // Above the hub's outbox: the hub's slow-consumer policy decides, not a 1013 close.
        maxBackpressure: outbox * 2,
        // The handshake checks Origin (same-origin by default) before the hook runs.
        allowedOrigins: options.allowedOrigins ?? 'same-origin',
        upgrade: (ctx: Context<S>): Admitted => {
          hub.limiter.admit(ctx.ip, Date.now())
          return { ip: ctx.ip, request: hasAuth ? requestInfo(ctx) : null }
        },
        open(ws) {
          host.claim(ws)
          const format = wireFormatFor(ws.protocol, formats) ?? formats.json
          const admitted = ws.data as Admitted
          const session = hub.connect(
            new WsTransport(ws, format),
            admitted.request === null ? undefined : { request: admitted.request },
          )
          session.address = admitted.ip
          ws.data = session
        },
        message(ws, data) {
          const session = ws.data
          if (session instanceof Session) session.receive(data)
        },
        drain(ws) {
          const session = ws.data
          if (session instanceof Session) session.drain()
        },
        close(ws) {
          const data = ws.data
          if (data instanceof Session) {
            if (data.address !== null) hub.limiter.release(data.address)
            data.closed()
          } else if (data !== null) hub.limiter.release(data.ip)
        },
      },
      openStream,
    )
    const maxCommandBytes = options.maxCommandBytes ?? 65_536
    this.#host.post(path, async (ctx) => {
      const token = bearer(ctx)
      const ticket = ctx.query.ticket
      const request = authRequest(ctx, token !== undefined || ticket !== undefined)
      const { status, body } = await hub.httpCommand(await readCommand(ctx, maxCommandBytes), {
        ...(token === undefined ? null : { token }),
        ...(ticket === undefined ? null : { ticket }),
        ...(request === undefined ? null : { request }),
      })
      return ctx.status(status).json(body)
    })
    this.#host.post(`${base}/ticket`, async (ctx) => {
      const token = bearer(ctx)
      const request = authRequest(ctx, token !== undefined)
      const identity = await hub.authenticate({ token, transport: 'http', request })
      const channels = await ticketChannels(ctx, options.maxStreamChannels ?? 32)
      return ctx.json({ ticket: hub.issueTicket(identity, { channels }) })
    })
    this.#host.get(`${base}/client.js`, async (ctx) => {
      const file = clientBundlePath()
      if (file === null) {
        throw new SwitchboardError(
          'SWB_ERR_NOT_FOUND',
          'The client bundle is not built: run `npm run build`',
        )
      }
      return ctx.file(file, { contentType: 'text/javascript; charset=utf-8' })
    })
    this.#host.addCloser({ collect: () => hub.drainItems(), close: () => hub.close() }, 'sessions')
    this.#host.readinessCheck('broker', () => hub.readiness())
  }
}
