import { SwitchboardError } from '../errors/index.ts'
import type { ServerWebSocket } from './connection.ts'
import type { CompressionOptions, DeflateConfig } from './deflate-params.ts'
import type { HandshakeRules } from './handshake.ts'
import { type OriginOption, resolveOriginPolicy } from './origin.ts'
import type { ReceiverLimits } from './receiver.ts'

/**
 * A WebSocket route: hooks and options. Every option has a safe default; limits are on.
 * `C` is the request context type the `upgrade` hook receives (the app's `Context`).
 *
 * @example
 * app.ws<{ user: string }>('/chat', {
 *   async upgrade(ctx) {
 *     const user = await auth(ctx.headers.authorization)
 *     if (!user) throw new HttpError(401, 'Sign in first')
 *     return { user }
 *   },
 *   message(ws, data, isBinary) { ws.send(data, isBinary) },
 *   close(ws, code, reason) { console.log(ws.data.user, 'left', code, reason) },
 * })
 */
export interface WsBehaviour<Data = undefined, C = unknown> {
  /**
   * Runs before the 101, after the handshake checks. Return the connection's `ws.data`; throw an
   * `HttpError(status, message)` to refuse with that status. Time-boxed by `upgradeTimeout`.
   */
  upgrade?(ctx: C): Data | Promise<Data>
  /** The connection is open. */
  open?(ws: ServerWebSocket<Data>): void | Promise<void>
  /** A whole message arrived (text as UTF-8 bytes, already validated). */
  message?(ws: ServerWebSocket<Data>, data: Buffer, isBinary: boolean): void | Promise<void>
  /** The socket caught up after a send returned `BUFFERED`. */
  drain?(ws: ServerWebSocket<Data>): void
  /** A ping arrived (the pong was already queued with the same payload). */
  ping?(ws: ServerWebSocket<Data>, data: Buffer): void
  /** A pong arrived. */
  pong?(ws: ServerWebSocket<Data>, data: Buffer): void
  /** The connection closed: the peer's code (1005: none given), else the code of the close we sent, else 1006. */
  close?(ws: ServerWebSocket<Data>, code: number, reason: string): void
  /** Largest incoming message in bytes, after inflating. Default 1 MiB. */
  maxPayload?: number
  /** Most frames one incoming message may be split into. Default 65,536. */
  maxFragments?: number
  /** Seconds without any incoming data before the connection is closed; a ping goes out at half. Default 120; 0 disables. */
  idleTimeout?: number
  /** Bytes a connection may hold unsent before `backpressurePolicy` applies. Default 1 MiB. */
  maxBackpressure?: number
  /**
   * What a send does when `bufferedAmount` is over `maxBackpressure`: `'close'` (default) drops
   * it and closes with 1013 so the client reconnects and resumes without a silent gap; `'drop'`
   * drops it, counts it in `ws.dropped` and returns `DROPPED` (for lossy streams: cursors, telemetry).
   */
  backpressurePolicy?: 'drop' | 'close'
  /** permessage-deflate (RFC 7692). Default false. `true` uses the defaults of `CompressionOptions`. */
  compression?: boolean | CompressionOptions
  /** Subprotocols the route speaks; the first one the client offers (in its order) is chosen. */
  subprotocols?: string[]
  /**
   * Which page origins may connect; 403 `SWB_ERR_WS_ORIGIN_FORBIDDEN` otherwise. Default
   * `'same-origin'`: `Origin` must name the `Host` the upgrade was sent to, or be absent (a
   * non-browser client). A list of origins (exact, case-insensitive) or a predicate allows only
   * those (a missing `Origin` is then refused); `'any'` allows every origin (see {@link OriginOption}).
   */
  allowedOrigins?: OriginOption
  /** How long the `upgrade` hook may take, ms (503 after). Default 10,000. */
  upgradeTimeout?: number
  /** How long to wait for the peer's close frame / TCP close after ours, ms. Default 5,000. */
  closeTimeout?: number
}

// Hooks are stored untyped once resolved; the behaviour's signatures are checked where it is written.
// biome-ignore lint/suspicious/noExplicitAny: a resolved hook accepts the arguments of any hook
type Hook = ((...args: any[]) => unknown) | null

/** A route resolved once at registration: frozen options, hooks (null when absent), handshake rules. */
export interface WsRoute extends ReceiverLimits {
  readonly upgrade: Hook
  readonly open: Hook
  readonly message: Hook
  readonly drain: Hook
  readonly ping: Hook
  readonly pong: Hook
  readonly close: Hook
  readonly idleMs: number
  readonly maxBackpressure: number
  readonly dropOnBackpressure: boolean
  readonly upgradeTimeout: number
  readonly closeTimeout: number
  readonly rules: HandshakeRules
}

function invalid(name: string, expected: string, value: unknown): never {
  throw new SwitchboardError(
    'SWB_ERR_INVALID_OPTION',
    `WebSocket option "${name}" must be ${expected}; got ${String(value)}`,
  )
}

function int(name: string, v: unknown, def: number, min: number, max: number): number {
  if (v === undefined) return def
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    invalid(name, `an integer from ${min} to ${max}`, v)
  return v
}

function hook(name: string, v: unknown): Hook {
  if (v === undefined || v === null) return null
  if (typeof v !== 'function') invalid(name, 'a function', v)
  return v as Hook
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** Validates a behaviour once and freezes the result (STYLE.md principle 9). */
// biome-ignore lint/suspicious/noExplicitAny: any Data and context type resolve the same way
export function resolveWsRoute(b: WsBehaviour<any, any>): WsRoute {
  if (typeof b !== 'object' || b === null) invalid('behaviour', 'an object', b)
  const idle = b.idleTimeout ?? 120
  if (typeof idle !== 'number' || !Number.isFinite(idle) || idle < 0) {
    invalid('idleTimeout', 'a number of seconds >= 0', idle)
  }
  const policy = b.backpressurePolicy ?? 'close'
  if (policy !== 'drop' && policy !== 'close')
    invalid('backpressurePolicy', "'drop' or 'close'", policy)
  let subprotocols: string[] | null = null
  if (b.subprotocols !== undefined) {
    if (
      !Array.isArray(b.subprotocols) ||
      !b.subprotocols.every((p) => typeof p === 'string' && TOKEN.test(p))
    ) {
      invalid('subprotocols', 'an array of tokens', b.subprotocols)
    }
    subprotocols = [...b.subprotocols]
  }
  const origins = resolveOriginPolicy(b.allowedOrigins, 'WebSocket option "allowedOrigins"')
  let compression: DeflateConfig | null = null
  const c = b.compression
  if (c === true || (typeof c === 'object' && c !== null)) {
    const o: CompressionOptions = c === true ? {} : c
    compression = Object.freeze({
      threshold: int('compression.threshold', o.threshold, 1024, 0, Number.MAX_SAFE_INTEGER),
      serverNoContextTakeover: o.serverNoContextTakeover === true,
      clientNoContextTakeover: o.clientNoContextTakeover === true,
      serverMaxWindowBits: int('compression.serverMaxWindowBits', o.serverMaxWindowBits, 15, 8, 15),
      clientMaxWindowBits: int('compression.clientMaxWindowBits', o.clientMaxWindowBits, 15, 8, 15),
      level: int('compression.level', o.level, 1, 0, 9),
      memLevel: int('compression.memLevel', o.memLevel, 8, 1, 9),
    })
  } else if (c !== undefined && c !== false) invalid('compression', 'a boolean or an object', c)
  return Object.freeze({
    upgrade: hook('upgrade', b.upgrade),
    open: hook('open', b.open),
    message: hook('message', b.message),
    drain: hook('drain', b.drain),
    ping: hook('ping', b.ping),
    pong: hook('pong', b.pong),
    close: hook('close', b.close),
    maxPayload: int('maxPayload', b.maxPayload, 1024 * 1024, 0, 2 ** 31),
    maxFragments: int('maxFragments', b.maxFragments, 65_536, 1, 2 ** 31),
    idleMs: Math.round(idle * 1000),
    maxBackpressure: int(
      'maxBackpressure',
      b.maxBackpressure,
      1024 * 1024,
      0,
      Number.MAX_SAFE_INTEGER,
    ),
    dropOnBackpressure: policy === 'drop',
    upgradeTimeout: int('upgradeTimeout', b.upgradeTimeout, 10_000, 1, 2 ** 31 - 1),
    closeTimeout: int('closeTimeout', b.closeTimeout, 5_000, 1, 2 ** 31 - 1),
    rules: Object.freeze({ subprotocols, origins, compression }),
  })
}
