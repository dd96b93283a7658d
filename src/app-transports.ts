// The transports behind an app's WebSocket and SSE routes: the one WebSocket registry and the
// one SSE heartbeat registry that all of an app's routes share (made on first use, drained and
// closed with the app), and the route handlers `app.ws()` and `app.sse()` register. Apart from
// app.ts, which keeps the public `ws()` and `sse()` with their docs. Internal: not exported
// from index.ts, except the `SseHandler` type that app.ts re-exports.
import type { Logger } from 'pino'
import { SwitchboardError } from './errors/index.ts'
import type { Handler } from './http/compose.ts'
import type { Context } from './http/context.ts'
import type { Closer } from './lifecycle.ts'
import {
  HeartbeatRegistry,
  type ResolvedSseOptions,
  resolveSseOptions,
  type SseOptions,
  type SseStream,
} from './sse/index.ts'
import {
  plainRequestError,
  resolveWsRoute,
  type WsBehaviour,
  type WsEndpoint,
  WsRegistry,
  type WsRoute,
} from './ws/index.ts'

/**
 * Handler of an `app.sse()` route. The stream stays open after the handler returns (or its
 * promise settles) until `stream.close()`, the client leaving, or `app.close()`.
 */
export type SseHandler<S> = (stream: SseStream, ctx: Context<S>) => unknown

/** @internal What the registries need of the app: its log, and its lifecycle's closers. */
export interface TransportsHost {
  readonly log: Logger
  addCloser(closer: Closer): void
}

/** @internal An app's WebSocket registry and SSE heartbeat registry, each made on first use. */
export class AppTransports {
  readonly #host: TransportsHost
  #ws: WsRegistry | null = null
  #sse: { registry: HeartbeatRegistry; defaults: ResolvedSseOptions } | null = null

  constructor(host: TransportsHost) {
    this.#host = host
  }

  /** Open WebSocket connections and SSE streams (what the metrics read when scraped). */
  connections(): { websocket: number; sse: number } {
    return { websocket: this.#ws?.connections.size ?? 0, sse: this.#sse?.registry.size ?? 0 }
  }

  /** A WebSocket route's endpoint: its behaviour resolved (and checked) once, and the registry. */
  wsEndpoint<Data, C>(behaviour: WsBehaviour<Data, C>): WsEndpoint {
    const route = resolveWsRoute(behaviour)
    return { route, registry: this.#wsRegistry() }
  }

  /**
   * The route handler of `app.sse(path, handler, options)`: the handler is checked, and the
   * options resolved once, here (with the shared heartbeat registry).
   */
  sseRoute<S>(path: string, handler: SseHandler<S>, options: SseOptions | undefined): Handler<S> {
    if (typeof handler !== 'function') {
      throw new SwitchboardError(
        'SWB_ERR_INVALID_ROUTE',
        `SSE ${path}: the handler must be a function`,
      )
    }
    const opts = this.sseOptions(options)
    return (ctx: Context<S>) => runSse(ctx, handler, opts)
  }

  /** The app's WebSocket registry; the first call makes it and adds its closer. */
  #wsRegistry(): WsRegistry {
    if (this.#ws === null) {
      const registry = new WsRegistry()
      registry.onError = (err) => this.#host.log.error({ err }, 'WebSocket hook failed')
      this.#ws = registry
      this.#host.addCloser({
        collect: (claimed) => registry.drainItems(claimed),
        close: (graceful) => registry.closeAll(Math.min(Math.floor(graceful / 2), 2000)),
      })
    }
    return this.#ws
  }

  /** See `Switchboard.sseOptions`: options completed with the shared heartbeat registry. */
  sseOptions(options?: SseOptions | ResolvedSseOptions): ResolvedSseOptions {
    if (this.#sse === null) {
      const registry = new HeartbeatRegistry()
      this.#sse = { registry, defaults: resolveSseOptions({ heartbeat: registry }) }
      this.#host.addCloser({
        collect: (claimed) => registry.drainItems(claimed),
        close: () => registry.closeAll(),
      })
    }
    if (options === undefined) return this.#sse.defaults
    if ('heartbeat' in options) return resolveSseOptions(options)
    return resolveSseOptions({ ...(options as SseOptions), heartbeat: this.#sse.registry })
  }
}

/** @internal How a WebSocket route without `plainGet` answers a plain GET: `plainRequestError`. */
export function refusePlainGet<S>(route: WsRoute): Handler<S> {
  return (ctx: Context<S>) => {
    throw plainRequestError(ctx.req, route)
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
