import type { Codec } from '../protocol/codec.ts'
import { ClientError, ClientErrorCode } from './errors.ts'
import type { QueuedCommand } from './outbox.ts'
import { readRefusal, TicketRefused } from './stream-refusal.ts'
import type { EventSourceConstructor, FetchLike } from './transport-sse.ts'
import type { WebSocketConstructor } from './transport-ws.ts'
import { UPGRADE_PROBE_DEFAULTS } from './upgrade-probe.ts'
import type { VisibilitySource } from './visibility.ts'

/** Options of {@link SwitchboardClient}. Every field is optional except `url`. */
export interface ClientOptions {
  /** Endpoint: `ws(s)://…` or `http(s)://…`; the other scheme is derived. */
  url: string
  /** SSE stream URL. Default: `url` with an http(s) scheme. */
  sseUrl?: string
  /** URL commands are POSTed to on the SSE transport. Default: `sseUrl`. */
  postUrl?: string
  /** `'auto'` (WebSocket, SSE when it cannot work), `'websocket'` or `'sse'`. Default `'auto'`. */
  transport?: 'auto' | 'websocket' | 'sse'
  /** Credential for `connect` (WebSocket) and `Authorization: Bearer` (SSE POSTs); a function
   * is called before every connect, so it can refresh. */
  token?: string | (() => string | Promise<string>)
  /** Gets a short-lived stream ticket for the SSE stream (`EventSource` sends no headers),
   * given the channels the stream will carry (a ticket is valid for those channels only).
   * Default: with a `token`, POST `{ channels }` to `ticketUrl` with `Authorization: Bearer
   * <token>` and read `{ ticket }`; without a token, none (the stream is anonymous, or a cookie
   * identifies it). */
  streamTicket?: (channels: string[]) => string | Promise<string>
  /** Where the default `streamTicket` gets tickets. Default: `<postUrl>/ticket` (the server's
   * `<channels path>/ticket`). */
  ticketUrl?: string
  /** `connect.data` for a custom connect hook. */
  data?: unknown
  /** Client name sent with `connect`. Default `'switchboard-js'`. */
  name?: string
  /** WebSocket constructor. Default: the global `WebSocket` (browsers, Node >= 22). */
  WebSocket?: WebSocketConstructor
  /** EventSource constructor. Default: the global `EventSource`. */
  EventSource?: EventSourceConstructor
  /** fetch. Default: the global `fetch`. */
  fetch?: FetchLike
  /** Wire codec on WebSocket. Default JSON (`switchboard.v1.json`). */
  codec?: Codec
  /** Reconnect backoff: first ceiling, largest ceiling (ms) and growth. Default 500, 20 000, 2. */
  minReconnectDelay?: number
  maxReconnectDelay?: number
  reconnectFactor?: number
  /** While on the SSE fallback of `transport: 'auto'`, probe WebSocket in the background after a
   * random wait in `[0, upgradeProbeDelay]` (ms), the ceiling doubling per failed probe up to
   * `maxUpgradeProbeDelay`; a good probe moves the client back to WebSocket. Default 5 000. */
  upgradeProbeDelay?: number
  /** Largest ceiling of the upgrade probe's wait (ms). Default 300 000 (5 min). */
  maxUpgradeProbeDelay?: number
  /** Randomness for the jitter, for tests. Default `Math.random`. */
  random?: () => number
  /** Reply timeout of every command, and the default rpc timeout (ms). Default 10 000. */
  timeout?: number
  /** Ping after this much silence (ms). Default 25 000. */
  pingInterval?: number
  /** Ping reply timeout (ms). Default 10 000. */
  pongTimeout?: number
  /** Most commands waiting for a connection. Default 1000. */
  outboxSize?: number
  /** Page visibility. Default: `document`'s in a browser, none in Node. */
  visibility?: VisibilitySource | null
  /** SSE: send cookies cross-origin. Default false. */
  withCredentials?: boolean
}

/** Options after validation and defaults (frozen). */
export interface ResolvedOptions {
  readonly wsUrl: string
  readonly sseUrl: string
  readonly postUrl: string
  readonly transport: 'auto' | 'websocket' | 'sse'
  readonly ticketUrl: string
  readonly timeout: number
  readonly pingInterval: number
  readonly pongTimeout: number
  readonly upgradeProbeDelay: number
  readonly maxUpgradeProbeDelay: number
}

function invalid(option: string, detail: string): never {
  throw new ClientError(ClientErrorCode.INVALID_OPTION, `SwitchboardClient: ${option} ${detail}`)
}

/** A positive number option, or its default. */
export function positiveOption(
  options: ClientOptions,
  name: keyof ClientOptions,
  fallback: number,
): number {
  const v = options[name]
  if (v === undefined) return fallback
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
    invalid(name, 'must be a positive number')
  return v
}

/** Validates the options once (an error names the option) and fills the defaults. */
export function resolveOptions(options: ClientOptions): ResolvedOptions {
  if (typeof options?.url !== 'string' || !/^(wss?|https?):\/\//i.test(options.url)) {
    invalid('url', 'must be a ws://, wss://, http:// or https:// URL')
  }
  const transport = options.transport ?? 'auto'
  if (transport !== 'auto' && transport !== 'websocket' && transport !== 'sse') {
    invalid('transport', "must be 'auto', 'websocket' or 'sse'")
  }
  const wsUrl = options.url.replace(/^http/i, 'ws')
  const sseUrl = options.sseUrl ?? options.url.replace(/^ws/i, 'http')
  const postUrl = options.postUrl ?? sseUrl.split('?')[0]!
  const upgradeProbeDelay = positiveOption(
    options,
    'upgradeProbeDelay',
    UPGRADE_PROBE_DEFAULTS.delay,
  )
  // An explicit cap below the first ceiling is a mistake; the default cap follows a larger delay.
  const maxUpgradeProbeDelay =
    options.maxUpgradeProbeDelay === undefined
      ? Math.max(UPGRADE_PROBE_DEFAULTS.maxDelay, upgradeProbeDelay)
      : positiveOption(options, 'maxUpgradeProbeDelay', UPGRADE_PROBE_DEFAULTS.maxDelay)
  if (maxUpgradeProbeDelay < upgradeProbeDelay) {
    invalid('maxUpgradeProbeDelay', 'must be >= upgradeProbeDelay')
  }
  return Object.freeze({
    wsUrl,
    sseUrl,
    postUrl,
    ticketUrl: options.ticketUrl ?? `${postUrl.replace(/\/$/, '')}/ticket`,
    transport,
    timeout: positiveOption(options, 'timeout', 10_000),
    pingInterval: positiveOption(options, 'pingInterval', 25_000),
    pongTimeout: positiveOption(options, 'pongTimeout', 10_000),
    upgradeProbeDelay,
    maxUpgradeProbeDelay,
  })
}

/** The token of `options.token`, calling it when it is a function. */
export function resolveToken(token: ClientOptions['token']): Promise<string | undefined> {
  if (token === undefined) return Promise.resolve(undefined)
  if (typeof token === 'string') return Promise.resolve(token)
  return Promise.resolve().then(token)
}

/** The `connect` command (the token function is asked again each time). */
export async function connectCommand(
  options: ClientOptions,
): Promise<QueuedCommand & { type: 'connect' }> {
  const token = await resolveToken(options.token)
  return {
    type: 'connect',
    name: options.name ?? 'switchboard-js',
    ...(token === undefined ? null : { token }),
    ...(options.data === undefined ? null : { data: options.data }),
  }
}

/** The WebSocket constructor of `options`, else the global one (`undefined`: none). */
export function webSocketConstructor(options: ClientOptions): WebSocketConstructor | undefined {
  return options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
}

/** What the SSE transport needs, or null when this client has no EventSource or fetch. */
export function sseParts(
  options: ClientOptions,
): { ES: EventSourceConstructor; fetchFn: FetchLike } | null {
  const ES =
    options.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource
  const fetchFn = options.fetch ?? (globalThis as { fetch?: FetchLike }).fetch?.bind(globalThis)
  return ES === undefined || fetchFn === undefined ? null : { ES, fetchFn }
}

/**
 * Gets a stream ticket for `channels`: POST `{ channels }` to `url` with the bearer token,
 * answer `{ ticket }`.
 *
 * @example
 * const ticket = await fetchTicket(fetch, 'https://x/switchboard/ticket', token, ['chat:lobby'])
 */
export async function fetchTicket(
  fetchFn: FetchLike,
  url: string,
  token: string,
  channels: readonly string[],
): Promise<string> {
  const response = await fetchFn(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ channels }),
  })
  const text = await response.text()
  if (response.status === 401) {
    // A refused token: the client asks a token function once more, then stops.
    const refusal = readRefusal(401, text, [])
    if (refusal !== null) throw new TicketRefused(refusal)
  }
  const ticket = response.ok ? (JSON.parse(text) as { ticket?: unknown }).ticket : undefined
  if (typeof ticket !== 'string') throw new Error(`no stream ticket (HTTP ${response.status})`)
  return ticket
}
