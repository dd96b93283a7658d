// The WebSocket layer's exports. This file only re-exports.

export { ServerWebSocket } from './connection.ts'
export {
  BUFFERED,
  CLOSED,
  CLOSING,
  CONNECTING,
  DROPPED,
  OPEN,
  SENT,
  type SendStatus,
} from './constants.ts'
export { zlibLimiter } from './deflate.ts'
export type { CompressionOptions } from './deflate-params.ts'
export type { WsMessage } from './inbox.ts'
export { WsRegistry } from './registry.ts'
export { resolveWsRoute, type WsBehaviour, type WsRoute } from './route.ts'
export { type PreparedMessage, prepareMessage } from './sender.ts'
export { handleUpgrade, plainRequestError, rejectUpgrade, type WsEndpoint } from './upgrade.ts'
