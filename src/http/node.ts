import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import type { ResolvedOptions } from '../options.ts'
import { handleUpgrade, rejectUpgrade, type WsEndpoint } from '../ws/index.ts'
import type { Context } from './context.ts'
import type { RouteRecord } from './router.ts'

/** The bound address `listen()` resolves with. */
export interface ListenAddress {
  readonly address: string
  readonly port: number
  readonly family: string
  /** `http://host:port`, with IPv6 hosts in brackets. */
  readonly url: string
}

/** Creates the node:http server with the app's limits and timeouts. */
export function createNodeServer(
  options: ResolvedOptions,
  onRequest: (req: IncomingMessage, res: ServerResponse) => void,
): Server {
  const server = createServer(
    {
      keepAliveTimeout: options.keepAliveTimeout,
      headersTimeout: options.headersTimeout,
      requestTimeout: options.requestTimeout,
      maxHeaderSize: options.maxHeaderSize,
      noDelay: options.noDelay,
      // Node checks headersTimeout/requestTimeout only every connectionsCheckingInterval
      // (default 30 s), so a stalled handshake (slowloris) would outlive its deadline by up to
      // 30 s. Check at a quarter of the shortest deadline instead (at least every 250 ms).
      connectionsCheckingInterval: checkingInterval(options.headersTimeout, options.requestTimeout),
    },
    onRequest,
  )
  return server
}

function checkingInterval(headersTimeout: number, requestTimeout: number): number {
  const shortest = requestTimeout > 0 ? Math.min(headersTimeout, requestTimeout) : headersTimeout
  return Math.max(250, Math.min(30_000, Math.floor(shortest / 4)))
}

/** Listens and resolves with the bound address (port 0 picks a free port). */
export function listenOn(
  server: Server,
  port: number,
  host: string,
  backlog: number,
): Promise<ListenAddress> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err)
    server.once('error', onError)
    server.listen({ port, host, backlog }, () => {
      server.off('error', onError)
      resolve(addressOf(server))
    })
  })
}

/** The bound address of a listening server. */
export function addressOf(server: Server): ListenAddress {
  const info = server.address() as AddressInfo
  const host = info.family === 'IPv6' ? `[${info.address}]` : info.address
  return {
    address: info.address,
    port: info.port,
    family: info.family,
    url: `http://${host}:${info.port}`,
  }
}

/** What the upgrade path needs from the app. */
export interface UpgradeTarget {
  /** Finds the route of a WebSocket upgrade (a GET route whose `meta` the WebSocket layer set). */
  findUpgradeRoute(path: string): { record: RouteRecord; params: Record<string, string> } | null
  /** Builds a request context without a response (there is none before the 101). */
  upgradeContext(
    req: IncomingMessage,
    path: string,
    rawQuery: string,
    params: Record<string, string>,
  ): Context<unknown>
  /** Whether the server is draining; upgrades are then refused with 503. */
  readonly closing: boolean
}

/** Writes a minimal HTTP response on a raw socket and closes it (used before a 101 exists). */
export function rejectSocket(
  socket: Duplex,
  status: number,
  reason: string,
  headers: Record<string, string> = {},
  body = '',
): void {
  if (socket.destroyed) return
  let head = `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`
  socket.end(`${head}\r\n${body}`)
}

// --- WebSocket upgrade (the WebSocket layer fills this in) ---------------------------------
/**
 * Handles Node's `'upgrade'` event for the app's server. Returns false when the path is not a
 * WebSocket route of this app, so that an attached server's other upgrade listeners can take it.
 */
export function onUpgrade(
  target: UpgradeTarget,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): boolean {
  const url = req.url ?? '/'
  const q = url.indexOf('?')
  const path = q === -1 ? url : url.slice(0, q)
  const found = target.findUpgradeRoute(path)
  if (!found) return false
  const endpoint = found.record.meta as WsEndpoint
  if (target.closing) {
    rejectUpgrade(socket, 503, 'SWB_ERR_SERVER_CLOSING', 'The server is shutting down')
    return true
  }
  // The context is built only when the route has an upgrade hook to give it to.
  const ctx =
    endpoint.route.upgrade === null
      ? undefined
      : target.upgradeContext(req, path, q === -1 ? '' : url.slice(q + 1), found.params)
  handleUpgrade(endpoint, req, socket, head, ctx, ctx?.requestId)
  return true
}
// --- end WebSocket upgrade -------------------------------------------------------------------
