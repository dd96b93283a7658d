import { type IncomingMessage, validateHeaderName, validateHeaderValue } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import {
  ERRORS,
  type ErrorSpec,
  HttpError,
  SwitchboardError,
  statusMessage,
} from '../errors/index.ts'
import type { WsErrorCode } from '../errors/ws.ts'
import { ServerWebSocket } from './connection.ts'
import { acceptKey, checkHandshake, type HandshakeAccept } from './handshake.ts'
import type { WsRegistry } from './registry.ts'
import type { WsRoute } from './route.ts'

/** A WebSocket route as the app stores it in the router: resolved options and its registry. */
export interface WsEndpoint {
  readonly route: WsRoute
  readonly registry: WsRegistry
}

/**
 * Writes an HTTP error response on the raw socket (there is no ServerResponse before a 101) and
 * closes it. The body has the shape of every Switchboard error: `{ error: { code, message } }`.
 */
export function rejectUpgrade(
  socket: Duplex,
  status: number,
  code: string,
  message: string,
  headers?: Record<string, string>,
  requestId?: string,
): void {
  if (socket.destroyed) return
  const body = JSON.stringify({ error: { code, message, ...(requestId ? { requestId } : {}) } })
  let head = `HTTP/1.1 ${status} ${statusMessage(status)}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`
  if (headers) for (const k in headers) head += `${k}: ${headers[k]}\r\n`
  socket.end(`${head}\r\n${body}`)
  // A client that never reads must not keep the socket: give it a moment, then cut it.
  setTimeout(destroyLater, 1000, socket).unref()
}

/**
 * Node removes its own 'error' listener before emitting 'upgrade'; without one, a client that
 * resets the connection during the upgrade hook or a refusal would crash the process.
 */
function onEarlyError(this: Duplex): void {
  this.destroy()
}

function safeHeaders(headers: Record<string, string>): boolean {
  for (const [name, value] of Object.entries(headers)) {
    try {
      validateHeaderName(name)
      validateHeaderValue(name, value)
    } catch {
      return false
    }
  }
  return true
}

function destroyLater(socket: Duplex): void {
  if (!socket.destroyed) socket.destroy()
}

function rejectCode(
  socket: Duplex,
  code: WsErrorCode,
  headers?: Record<string, string>,
  requestId?: string,
) {
  const spec = ERRORS[code] as ErrorSpec
  rejectUpgrade(socket, spec.status ?? 400, code, spec.message, headers, requestId)
}

function rejectError(socket: Duplex, err: unknown, registry: WsRegistry, requestId?: string): void {
  // Headers go on the raw socket here: a CR/LF in one would split the response.
  const unsafe = err instanceof HttpError && err.headers !== undefined && !safeHeaders(err.headers)
  if (err instanceof SwitchboardError && err.status >= 400 && err.status <= 599 && !unsafe) {
    const message = err.expose ? err.message : statusMessage(err.status)
    const headers = err instanceof HttpError ? err.headers : undefined
    rejectUpgrade(socket, err.status, String(err.code), message, headers, requestId)
    return
  }
  registry.onError(err)
  rejectCode(socket, 'SWB_ERR_WS_UPGRADE_FAILED', undefined, requestId)
}

/**
 * Handles an `'upgrade'` request for a WebSocket route: checks the handshake (RFC 6455 §4.2),
 * runs the route's `upgrade` hook time-boxed by `upgradeTimeout`, then writes the 101 and opens
 * the connection. Every refusal is an HTTP response with the table's status.
 *
 * @example
 * server.on('upgrade', (req, socket, head) => handleUpgrade(endpoint, req, socket, head, ctx))
 */
export function handleUpgrade(
  endpoint: WsEndpoint,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  ctx: unknown,
  requestId?: string,
): void {
  const { route, registry } = endpoint
  socket.on('error', onEarlyError)
  if (registry.closing) {
    rejectUpgrade(socket, 503, 'SWB_ERR_SERVER_CLOSING', ERRORS.SWB_ERR_SERVER_CLOSING.message)
    return
  }
  const check = checkHandshake(req, route.rules, false)
  if (check.error !== undefined) {
    rejectCode(socket, check.error, check.headers, requestId)
    return
  }
  if (route.upgrade === null) {
    acceptUpgrade(endpoint, socket as Socket, head, check, undefined)
    return
  }
  let out: unknown
  try {
    out = route.upgrade(ctx)
  } catch (err) {
    rejectError(socket, err, registry, requestId)
    return
  }
  if (!(out instanceof Promise)) {
    acceptUpgrade(endpoint, socket as Socket, head, check, out)
    return
  }
  // Hold the bytes the client sends early until the connection exists.
  socket.pause()
  new PendingUpgrade(endpoint, socket as Socket, head, check, requestId).wait(out)
}

/** An `upgrade` hook in flight: settles once, by result, error or deadline. */
class PendingUpgrade {
  private settled = false
  private readonly timer: NodeJS.Timeout
  constructor(
    private readonly endpoint: WsEndpoint,
    private readonly socket: Socket,
    private readonly head: Buffer,
    private readonly check: HandshakeAccept,
    private readonly requestId: string | undefined,
  ) {
    this.timer = setTimeout(onUpgradeTimeout, endpoint.route.upgradeTimeout, this)
  }

  wait(p: Promise<unknown>): void {
    p.then(
      (data) => this.settle(data, null),
      (err: unknown) => this.settle(undefined, err ?? new Error('upgrade hook rejected')),
    )
  }

  timeout(): void {
    if (this.settled) return
    this.settled = true
    rejectCode(this.socket, 'SWB_ERR_WS_UPGRADE_TIMEOUT', undefined, this.requestId)
  }

  private settle(data: unknown, err: unknown): void {
    if (this.settled) return
    this.settled = true
    clearTimeout(this.timer)
    if (this.socket.destroyed || !this.socket.writable) return
    if (err !== null) {
      rejectError(this.socket, err, this.endpoint.registry, this.requestId)
      return
    }
    if (this.endpoint.registry.closing) {
      rejectUpgrade(
        this.socket,
        503,
        'SWB_ERR_SERVER_CLOSING',
        ERRORS.SWB_ERR_SERVER_CLOSING.message,
      )
      return
    }
    acceptUpgrade(this.endpoint, this.socket, this.head, this.check, data)
  }
}

function onUpgradeTimeout(p: PendingUpgrade): void {
  p.timeout()
}

/** Writes the 101 (RFC 6455 §4.2.2 item 5) and opens the connection. */
export function acceptUpgrade(
  endpoint: WsEndpoint,
  socket: Socket,
  head: Buffer,
  check: HandshakeAccept,
  data: unknown,
): ServerWebSocket<unknown> | null {
  if (socket.destroyed) return null
  socket.removeListener('error', onEarlyError) // the connection installs its own
  let res = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(check.key)}\r\n`
  if (check.protocol !== '') res += `Sec-WebSocket-Protocol: ${check.protocol}\r\n`
  if (check.deflate !== null) res += `Sec-WebSocket-Extensions: ${check.deflate.header}\r\n`
  socket.write(`${res}\r\n`)
  socket.setTimeout(0)
  socket.setNoDelay(true)
  const ws = new ServerWebSocket(
    socket,
    endpoint.route,
    endpoint.registry,
    data,
    check.protocol,
    check.deflate,
  )
  ws.opened()
  if (head.length > 0) ws.receive(Buffer.from(head))
  socket.resume()
  return ws
}

/**
 * The answer to a non-upgrade request on a WebSocket-only route: 426 with `Upgrade: websocket`
 * for a plain request, else the status of the first handshake rule it breaks (RFC 6455 §4.2.1).
 */
export function plainRequestError(req: IncomingMessage, route: WsRoute): HttpError {
  const check = checkHandshake(req, route.rules, true)
  const code: WsErrorCode = check.error ?? 'SWB_ERR_WS_INVALID_UPGRADE'
  const spec = ERRORS[code] as ErrorSpec
  return new HttpError(spec.status ?? 400, spec.message, {
    code,
    ...(check.error !== undefined && check.headers ? { headers: check.headers } : {}),
  })
}
