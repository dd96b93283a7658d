// The client's connection states, their codes, and the payloads of its events (the types an
// application's listeners receive; SwitchboardClient in client.ts emits them).
import type { ConnectResult, PublicationPush, SubscribeResult } from '../protocol/messages.ts'
import type { ClientError } from './errors.ts'
import type { TransportName } from './transport.ts'
import type { ProbeEvent } from './upgrade-probe.ts'

/** The client's connection states. */
export type ConnectionState = 'disconnected' | 'connecting' | 'connected'

/**
 * Codes of state changes the client makes itself (0–99). A change caused by the server or the
 * network carries that code instead: a WebSocket close code (1006 = network loss) or a
 * disconnect code (3000–4999, see protocol/codes.ts).
 */
export const StateCode = {
  /** The connection is established (`connected`). */
  CONNECTED: 0,
  /** `connect()` was called. */
  CONNECT_CALLED: 1,
  /** `disconnect()` was called. */
  DISCONNECT_CALLED: 2,
  /** A `ping` was not answered in time while the page was visible. */
  NO_PONG: 3,
  /** The `connect` command failed with a temporary error. */
  CONNECT_FAILED: 4,
  /** No transport is available (no WebSocket and no EventSource constructor). */
  NO_TRANSPORT: 5,
  /** An upgrade probe proved WebSocket works: the SSE fallback is closed and the client
   * reconnects over WebSocket at once (`connecting`, then `connected` over WebSocket). */
  UPGRADE: 6,
} as const

/** Payload of the `state` event. */
export interface StateEvent {
  readonly state: ConnectionState
  readonly previous: ConnectionState
  readonly code: number
  readonly reason: string
  /** The transport in use (or being tried). */
  readonly transport: TransportName | null
}

/** Payload of the `fallback` event: the client switched from WebSocket to SSE. */
export interface FallbackEvent {
  /** `'websocket-unavailable'` (no constructor), `'websocket-failed'` (never opened), or
   * `'websocket-cut'` (opened, then closed before any message: typically a proxy). */
  readonly reason: 'websocket-unavailable' | 'websocket-failed' | 'websocket-cut'
  /** The WebSocket close code seen. */
  readonly code: number
}

/** Payload of the `upgrade` event: the client leaves its SSE fallback for WebSocket. */
export interface UpgradeEvent {
  /** `'websocket-probe-ok'`: a background probe opened a WebSocket and got its `connect` reply. */
  readonly reason: 'websocket-probe-ok'
  /** Probes made since the client was last connected over WebSocket (1: the first one worked). */
  readonly probes: number
}

/** Payload of the `reconnecting` event: a reconnect attempt is scheduled. */
export interface ReconnectingEvent {
  /** Milliseconds until the attempt (the jittered backoff, plus any delay the server asked for).
   * Becoming visible may start it sooner; a connection banner counts this down. */
  readonly delay: number
  /** Attempts scheduled since the client was last connected (1: the first retry). */
  readonly attempt: number
  /** The code and reason of the close that led here, as in the `state` event. */
  readonly code: number
  readonly reason: string
}

/** Events of a {@link SwitchboardClient}. */
export interface ClientEvents {
  state: [StateEvent]
  /** A reconnect is scheduled, after every failed attempt (the state stays `connecting`, so
   * `state` fires only for the first). */
  reconnecting: [ReconnectingEvent]
  connected: [ConnectResult | null]
  fallback: [FallbackEvent]
  /** One background WebSocket probe finished (only while on the SSE fallback of `'auto'`). */
  probe: [ProbeEvent]
  /** A probe succeeded: the client moves from SSE to WebSocket (state code 6). */
  upgrade: [UpgradeEvent]
  /** A publication of a channel the application did not subscribe to (server-side), with the
   * epoch filled in when the push left it out (it follows the `subscribed` event's). */
  publication: [PublicationPush & { readonly epoch: string }]
  /** `hub.sendToUser` / `message` pushes. */
  message: [unknown]
  /** A server-side subscription (connect result `subs` or a `subscribe` push). */
  subscribed: [string, SubscribeResult]
  error: [ClientError]
}
