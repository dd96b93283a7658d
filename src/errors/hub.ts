import { defineErrors } from './define.ts'

/**
 * Errors of the channels hub and its wire protocol. A reply `error` carries the code; the HTTP
 * status applies to the POST command endpoint and the SSE stream endpoint; the close code is the
 * disconnect code when the error ends a connection.
 */
export const hubErrors = defineErrors({
  SWB_ERR_PROTOCOL_BAD_COMMAND: {
    status: 400,
    closeCode: 3501,
    message: 'The message is not a protocol v1 command',
  },
  SWB_ERR_PROTOCOL_NOT_CONNECTED: { status: 400, message: 'Send connect before other commands' },
  SWB_ERR_PROTOCOL_ALREADY_CONNECTED: { status: 400, message: 'The session is already connected' },
  SWB_ERR_PROTOCOL_MESSAGE_TOO_LARGE: {
    status: 413,
    closeCode: 3503,
    message: 'The command is larger than the server accepts',
  },
  SWB_ERR_PROTOCOL_TOO_MANY_REQUESTS: {
    status: 429,
    message: 'Too many commands in flight on this connection',
  },
  SWB_ERR_AUTH_UNAUTHORIZED: {
    status: 401,
    closeCode: 3500,
    message: 'The credential was refused',
  },
  SWB_ERR_AUTH_TOKEN_EXPIRED: { status: 401, closeCode: 3002, message: 'The credential expired' },
  SWB_ERR_AUTH_ORIGIN_FORBIDDEN: {
    status: 403,
    message: 'Requests that rely on cookies are not accepted from this origin',
  },
  SWB_ERR_CHANNEL_INVALID_NAME: { status: 400, message: 'The channel name is invalid' },
  SWB_ERR_CHANNEL_UNKNOWN_NAMESPACE: {
    status: 404,
    message: 'The channel belongs to no declared namespace',
  },
  SWB_ERR_CHANNEL_FORBIDDEN: { status: 403, message: 'Not allowed on this channel' },
  SWB_ERR_CHANNEL_PUBLISH_DISABLED: {
    status: 403,
    message: 'Clients may not publish to this channel',
  },
  SWB_ERR_CHANNEL_SCHEMA: { status: 422, message: "The data does not match the channel's schema" },
  SWB_ERR_CHANNEL_ALREADY_SUBSCRIBED: { status: 409, message: 'Already subscribed to the channel' },
  SWB_ERR_CHANNEL_NOT_SUBSCRIBED: { status: 409, message: 'Not subscribed to the channel' },
  SWB_ERR_CHANNEL_TOO_MANY_SUBSCRIPTIONS: {
    status: 429,
    message: 'The connection has too many subscriptions',
  },
  SWB_ERR_CHANNEL_PRESENCE_DISABLED: {
    status: 400,
    message: 'Presence is off for this namespace',
  },
  SWB_ERR_CHANNEL_HISTORY_DISABLED: { status: 400, message: 'History is off for this namespace' },
  SWB_ERR_CHANNEL_SLOW_CONSUMER: {
    closeCode: 3001,
    message: 'The connection could not keep up with its channels',
  },
  SWB_ERR_RPC_NOT_FOUND: { status: 404, message: 'No rpc handler has this method name' },
  SWB_ERR_RPC_FAILED: { status: 500, message: 'The rpc handler failed' },
  SWB_ERR_RPC_TIMEOUT: { status: 504, message: 'The rpc handler did not answer in time' },
  SWB_ERR_HUB_INTERNAL: { status: 500, closeCode: 3005, message: 'Internal hub error' },
  SWB_ERR_HUB_CLOSED: { status: 503, closeCode: 3000, message: 'The hub is shutting down' },
  SWB_ERR_LIMIT_CONNECTIONS: {
    status: 429,
    closeCode: 3006,
    message: 'Too many connections from this address or user',
  },
  SWB_ERR_LIMIT_CONNECT_RATE: {
    status: 429,
    message: 'Too many new connections from this address: retry later',
  },
  SWB_ERR_LIMIT_RATE: { status: 429, message: 'Too many commands: slow down' },
})
