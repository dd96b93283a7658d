import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { SwitchboardError } from './errors/index.ts'
import type { Context } from './http/context.ts'
import {
  defineWireFormat,
  Hub,
  type HubOptions,
  type Namespace,
  type NamespaceOptions,
  type RpcHandler,
  type Session,
  SseTransport,
  SUBPROTOCOLS,
  WsTransport,
  wireFormatFor,
  wsJsonFormat,
} from './hub/index.ts'
import { msgpackCodec } from './protocol/index.ts'
import type { WsBehaviour } from './ws/index.ts'
import { prepareMessage } from './ws/index.ts'

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
  /** Allowed `Origin`s of WebSocket upgrades (default: any). */
  allowedOrigins?: string[] | ((origin: string) => boolean)
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
  addCloser(
    closer: (graceful: number) => void | Promise<void>,
    phase?: 'sessions' | 'transports',
  ): void
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
      this.#hub = new Hub(hubOptions)
      this.#mount(this.#hub)
    }
    return this.#hub
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
    const outbox = options.maxOutboxBytes ?? 1024 * 1024
    const sseOptions = {
      // The hub's slow-consumer policy acts first; the stream's own mark is a backstop above it.
      highWaterMark: outbox * 2,
      policy: 'close' as const,
      // Ids carry every channel's cursor (about 15 bytes each), so allow long ones.
      maxLastEventIdLength: 8192,
    }
    const openStream = async (ctx: Context<S>): Promise<void> => {
      const channels = ctx.searchParams.getAll('channel')
      const header = ctx.headers['last-event-id']
      const lastEventId =
        typeof header === 'string' && header !== '' ? header : ctx.query.lastEventId
      const token = bearer(ctx)
      let stream: ReturnType<Context<S>['sse']> | null = null
      const session: Session = await hub.openStream(
        {
          channels,
          ...(lastEventId === undefined ? null : { lastEventId }),
          ...(ctx.query.ticket === undefined ? null : { ticket: ctx.query.ticket }),
          ...(token === undefined ? null : { token }),
        },
        () => {
          const s = ctx.sse(sseOptions)
          stream = s
          return new SseTransport(
            {
              write: (text) => s.writeEncoded(text),
              writeBytes: (bytes) => s.writeEncoded(bytes),
              flush: () => s.flush(),
              close: () => s.close(),
            },
            channels,
          )
        },
      )
      const opened = stream as ReturnType<Context<S>['sse']> | null
      if (opened === null) {
        session.closed()
        return
      }
      opened.closed.then(() => session.closed())
    }

    this.#host.ws<Session | null>(
      path,
      {
        subprotocols: [...SUBPROTOCOLS],
        maxPayload: options.maxPayload ?? options.maxCommandBytes ?? 65_536,
        idleTimeout: options.idleTimeout ?? 60,
        // Above the hub's outbox: the hub's slow-consumer policy decides, not a 1013 close.
        maxBackpressure: outbox * 2,
        ...(options.allowedOrigins === undefined
          ? null
          : { allowedOrigins: options.allowedOrigins }),
        upgrade: () => null,
        open(ws) {
          const format = wireFormatFor(ws.protocol, formats) ?? formats.json
          ws.data = hub.connect(new WsTransport(ws, format))
        },
        message(ws, data) {
          ws.data?.receive(data)
        },
        drain(ws) {
          ws.data?.drain()
        },
        close(ws) {
          ws.data?.closed()
        },
      },
      openStream,
    )
    this.#host.post(path, async (ctx) => {
      const { status, body } = await hub.httpCommand(await ctx.readJson(), {
        ...(bearer(ctx) === undefined ? null : { token: bearer(ctx) }),
        ...(ctx.query.ticket === undefined ? null : { ticket: ctx.query.ticket }),
      })
      return ctx.status(status).json(body)
    })
    this.#host.post(`${base}/ticket`, async (ctx) => {
      const identity = await hub.authenticate({ token: bearer(ctx), transport: 'http' })
      return ctx.json({ ticket: hub.issueTicket(identity) })
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
    this.#host.addCloser(() => hub.close(), 'sessions')
  }
}
