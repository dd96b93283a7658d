// The node:http servers an app is bound to: its own (`listen`), or an existing one it is
// attached to beside another framework (`attach`), the WebSocket upgrade listener on either,
// the separate metrics server (`metrics: { port }`), and giving them up when the app closes.
// Apart from app.ts, which keeps the public methods and the order of a shutdown (drain,
// closers, servers, close hooks). Internal: not exported from index.ts.
import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import type { RequestListener } from './app-requests.ts'
import {
  addressOf,
  createNodeServer,
  type ListenAddress,
  listenOn,
  onUpgrade,
  type UpgradeTarget,
} from './http/node.ts'
import { finishRequests } from './lifecycle.ts'
import type { PrometheusMetrics } from './ops/prometheus.ts'
import { serveMetrics } from './ops/serve.ts'
import type { ResolvedOptions } from './options.ts'

type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void

/** @internal What the binding needs of its app: the upgrade target, settings and listener. */
export interface BindingHost extends UpgradeTarget {
  readonly settings: ResolvedOptions
  readonly handle: RequestListener
}

/** @internal Where requests no route of the app knows go on an attached server. */
export interface FallbackTarget {
  fallback: RequestListener | null
}

/** @internal The servers an app listens on or is attached to (see the file header). */
export class ServerBinding {
  /** The app's own server, from `listen()`. */
  own: Server | null = null
  #attached: { server: Server; previous: RequestListener[] } | null = null
  #metricsServer: Server | null = null
  /** Where `listen()` starts the separate metrics server (the `metrics: { port }` option). */
  metricsAt: { port: number; host: string; path: string } | null = null
  readonly #host: BindingHost
  readonly #requests: FallbackTarget

  /** Upgrades for the app's WebSocket routes; others are left to the server's other listeners. */
  readonly #upgrade: UpgradeListener = (req, socket, head) => {
    if (onUpgrade(this.#host, req, socket, head)) return
    const server = this.own ?? this.#attached?.server
    // Another framework on an attached server may own this path (socket.io, a ws server...).
    if (server && server.listenerCount('upgrade') > 1) return
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
  }

  constructor(host: BindingHost, requests: FallbackTarget) {
    this.#host = host
    this.#requests = requests
  }

  /** Whether the app listens or is attached already. */
  get bound(): boolean {
    return this.own !== null || this.#attached !== null
  }

  /** See `Switchboard.server`. */
  get server(): Server | null {
    return this.own ?? this.#attached?.server ?? null
  }

  /** See `Switchboard.address`. */
  address(): ListenAddress | null {
    return this.own?.listening ? addressOf(this.own) : null
  }

  /** See `Switchboard.metricsAddress`. */
  metricsAddress(): ListenAddress | null {
    return this.#metricsServer?.listening ? addressOf(this.#metricsServer) : null
  }

  /**
   * Makes the own server and listens (see `Switchboard.listen`), then starts the metrics server
   * when `metricsAt` is set and the app has `metrics`. On failure the app is left unbound.
   */
  async listen(
    where: { port?: number; host?: string },
    metrics: PrometheusMetrics | null,
  ): Promise<ListenAddress> {
    const settings = this.#host.settings
    const server = createNodeServer(settings, this.#host.handle)
    server.on('upgrade', this.#upgrade)
    this.own = server
    try {
      const address = await listenOn(
        server,
        where.port ?? settings.port,
        where.host ?? settings.host,
        settings.backlog,
      )
      if (this.metricsAt !== null && metrics !== null) {
        this.#metricsServer = await serveMetrics(metrics, this.metricsAt)
      }
      return address
    } catch (err) {
      this.own = null
      throw err
    }
  }

  /** Takes over `server`'s requests, keeping its previous listeners as the fallback (see `Switchboard.attach`). */
  attach(server: Server): void {
    const previous = server.listeners('request') as RequestListener[]
    server.removeAllListeners('request')
    this.#requests.fallback =
      previous.length === 0
        ? null
        : (req, res) => {
            for (const listener of previous) listener.call(server, req, res)
          }
    server.on('request', this.#host.handle)
    server.on('upgrade', this.#upgrade)
    this.#attached = { server, previous }
  }

  /**
   * Gives the servers up once the app's closers ran: the own `server` (as it was when the
   * shutdown began; `stopped` is its `stopAccepting`) finishes its requests within `graceful`
   * ms, the metrics server closes, and an attached server gets its previous listeners back.
   */
  async release(server: Server | null, stopped: Promise<void>, graceful: number): Promise<void> {
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
      s.off('request', this.#host.handle)
      s.off('upgrade', this.#upgrade)
      for (const l of previous) s.on('request', l)
    }
  }
}
