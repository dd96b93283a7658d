import { defineErrors } from './define.ts'

/** Errors of the WebSocket layer: handshake refusals (HTTP status) and protocol closes (close code). */
export const wsErrors = defineErrors({
  // Handshake refusals (RFC 6455 §4.2.1, §4.2.2, §4.4).
  SWB_ERR_WS_METHOD_NOT_ALLOWED: { status: 405, message: 'A WebSocket handshake must use GET' },
  SWB_ERR_WS_HTTP_VERSION: {
    status: 400,
    message: 'A WebSocket handshake needs HTTP/1.1 or later',
  },
  SWB_ERR_WS_MISSING_HOST: { status: 400, message: 'A WebSocket handshake needs a Host header' },
  SWB_ERR_WS_INVALID_UPGRADE: {
    status: 400,
    message: 'Upgrade must name websocket and Connection must name upgrade',
  },
  SWB_ERR_WS_UPGRADE_REQUIRED: {
    status: 426,
    message: 'This resource is only served over WebSocket',
  },
  SWB_ERR_WS_INVALID_KEY: { status: 400, message: 'Sec-WebSocket-Key must be 16 bytes in base64' },
  SWB_ERR_WS_INVALID_VERSION: {
    status: 400,
    message: 'Sec-WebSocket-Version is missing',
  },
  SWB_ERR_WS_UNSUPPORTED_VERSION: {
    status: 426,
    message: 'Only WebSocket version 13 is supported',
  },
  SWB_ERR_WS_INVALID_PROTOCOL_HEADER: {
    status: 400,
    message: 'Sec-WebSocket-Protocol is malformed',
  },
  SWB_ERR_WS_INVALID_EXTENSIONS_HEADER: {
    status: 400,
    message: 'Sec-WebSocket-Extensions is malformed',
  },
  SWB_ERR_WS_ORIGIN_FORBIDDEN: {
    status: 403,
    message: 'This origin may not open a WebSocket here',
  },
  SWB_ERR_WS_UPGRADE_TIMEOUT: { status: 503, message: 'The upgrade hook did not answer in time' },
  SWB_ERR_WS_UPGRADE_FAILED: { status: 500, message: 'The upgrade hook failed' },
  // Protocol closes (RFC 6455 §7.4.1).
  SWB_ERR_WS_UNMASKED_FRAME: { closeCode: 1002, message: 'Client frames must be masked' },
  SWB_ERR_WS_RESERVED_BITS: { closeCode: 1002, message: 'A reserved bit is set' },
  SWB_ERR_WS_RESERVED_OPCODE: { closeCode: 1002, message: 'A reserved opcode was used' },
  SWB_ERR_WS_CONTROL_FRAME: {
    closeCode: 1002,
    message: 'A control frame is fragmented or too long',
  },
  SWB_ERR_WS_CONTINUATION: { closeCode: 1002, message: 'Fragments arrived out of order' },
  SWB_ERR_WS_FRAME_LENGTH: { closeCode: 1002, message: 'A frame length is invalid' },
  SWB_ERR_WS_INVALID_CLOSE_FRAME: { closeCode: 1002, message: 'A close frame is malformed' },
  SWB_ERR_WS_INVALID_UTF8: { closeCode: 1007, message: 'Text is not valid UTF-8' },
  SWB_ERR_WS_INFLATE_FAILED: { closeCode: 1007, message: 'A compressed message is corrupt' },
  SWB_ERR_WS_MESSAGE_TOO_BIG: { closeCode: 1009, message: 'A message is larger than maxPayload' },
  SWB_ERR_WS_TOO_MANY_FRAGMENTS: { closeCode: 1009, message: 'A message has too many fragments' },
  SWB_ERR_WS_HANDLER_FAILED: { closeCode: 1011, message: 'A WebSocket handler threw' },
  SWB_ERR_WS_BACKPRESSURE: { closeCode: 1013, message: 'The client reads too slowly' },
  SWB_ERR_WS_IDLE_TIMEOUT: { closeCode: 1001, message: 'No data and no pong within idleTimeout' },
  SWB_ERR_WS_SERVER_CLOSING: { closeCode: 1001, message: 'The server is shutting down' },
  SWB_ERR_WS_INVALID_CLOSE: { message: 'ws.close() was given an invalid code or reason' },
})

/** A code of the WebSocket error table. */
export type WsErrorCode = keyof typeof wsErrors
