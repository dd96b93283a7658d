/**
 * Disconnect codes and their client policy. The range of a code tells the client what to do,
 * so a client never needs to know every code:
 *
 * | range     | meaning                                                   |
 * |-----------|-----------------------------------------------------------|
 * | 3000–3499 | reconnect (with backoff), resubscribe with `since`        |
 * | 3500–3999 | do not reconnect until something changes (user action)    |
 * | 4000–4999 | application-defined; the application decides              |
 *
 * The same numbers are used as WebSocket close codes (RFC 6455 §7.4.2 reserves 3000–3999 for
 * libraries and frameworks and 4000–4999 for applications) and in the `disconnect` push.
 *
 * @example
 * if (reconnectAllowed(push.code)) scheduleReconnect()
 */
export const DisconnectCode = {
  /** The server is shutting down or restarting. */
  SHUTDOWN: 3000,
  /** The connection could not keep up and the channel policy is `disconnect`. */
  SLOW_CONSUMER: 3001,
  /** The credential expired and was not refreshed in time; get a new token and reconnect. */
  TOKEN_EXPIRED: 3002,
  /** The server asked the client to reconnect (e.g. `hub.disconnect` with default code). */
  FORCE_RECONNECT: 3003,
  /** The connection did not send `connect` in time, or stopped answering. */
  STALE: 3004,
  /** An internal error ended the connection. */
  SERVER_ERROR: 3005,
  /** Too many connections of this user or address: retry later (with backoff). */
  TOO_MANY_CONNECTIONS: 3006,
  /** The credential was refused. */
  UNAUTHORIZED: 3500,
  /** The client sent something that is not protocol v1 (bad frame, unknown command). */
  BAD_REQUEST: 3501,
  /** The server ended the connection and asks the client not to come back (kick, ban). */
  FORCE_NO_RECONNECT: 3502,
  /** A command was larger than the server accepts. */
  MESSAGE_TOO_LARGE: 3503,
  /** In an `unsubscribe` push: the server ended the subscription; do not resubscribe. */
  UNSUBSCRIBED: 3504,
} as const

/** One of the built-in disconnect codes. */
export type DisconnectCodeValue = (typeof DisconnectCode)[keyof typeof DisconnectCode]

/** Whether a client should reconnect after `code`: true for 3000–3499, false for 3500–3999. Codes
 * 4000–4999 belong to the application, which decides; by default they reconnect. Anything else
 * (a plain network loss, 1006, 1001) reconnects too. */
export function reconnectAllowed(code: number): boolean {
  return !(code >= 3500 && code <= 3999)
}

/** Whether `code` is in the application range 4000–4999. */
export function isApplicationCode(code: number): boolean {
  return code >= 4000 && code <= 4999
}

/** Whether `code` can be sent as a disconnect code (3000–4999). */
export function isDisconnectCode(code: number): boolean {
  return Number.isInteger(code) && code >= 3000 && code <= 4999
}

/**
 * The `SWB_ERR_*` codes a reply `error` may carry. The server's error table (src/errors/hub.ts)
 * has one row for each, with its HTTP status for the POST endpoints.
 */
export const ReplyErrorCode = {
  BAD_COMMAND: 'SWB_ERR_PROTOCOL_BAD_COMMAND',
  NOT_CONNECTED: 'SWB_ERR_PROTOCOL_NOT_CONNECTED',
  ALREADY_CONNECTED: 'SWB_ERR_PROTOCOL_ALREADY_CONNECTED',
  TOO_MANY_REQUESTS: 'SWB_ERR_PROTOCOL_TOO_MANY_REQUESTS',
  UNAUTHORIZED: 'SWB_ERR_AUTH_UNAUTHORIZED',
  TOKEN_EXPIRED: 'SWB_ERR_AUTH_TOKEN_EXPIRED',
  INVALID_NAME: 'SWB_ERR_CHANNEL_INVALID_NAME',
  UNKNOWN_NAMESPACE: 'SWB_ERR_CHANNEL_UNKNOWN_NAMESPACE',
  FORBIDDEN: 'SWB_ERR_CHANNEL_FORBIDDEN',
  PUBLISH_DISABLED: 'SWB_ERR_CHANNEL_PUBLISH_DISABLED',
  SCHEMA: 'SWB_ERR_CHANNEL_SCHEMA',
  ALREADY_SUBSCRIBED: 'SWB_ERR_CHANNEL_ALREADY_SUBSCRIBED',
  NOT_SUBSCRIBED: 'SWB_ERR_CHANNEL_NOT_SUBSCRIBED',
  TOO_MANY_SUBSCRIPTIONS: 'SWB_ERR_CHANNEL_TOO_MANY_SUBSCRIPTIONS',
  PRESENCE_DISABLED: 'SWB_ERR_CHANNEL_PRESENCE_DISABLED',
  HISTORY_DISABLED: 'SWB_ERR_CHANNEL_HISTORY_DISABLED',
  RPC_NOT_FOUND: 'SWB_ERR_RPC_NOT_FOUND',
  RPC_FAILED: 'SWB_ERR_RPC_FAILED',
  INTERNAL: 'SWB_ERR_HUB_INTERNAL',
} as const

/** A reply error code of protocol v1. */
export type ReplyErrorCodeValue = (typeof ReplyErrorCode)[keyof typeof ReplyErrorCode]
