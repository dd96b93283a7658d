/** Protocol constants of RFC 6455 and RFC 7692, and the send statuses of the public API. */

/** RFC 6455 §1.3: the GUID appended to `Sec-WebSocket-Key` before hashing. */
export const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

// RFC 6455 §5.2 / §11.8: opcodes.
export const OP_CONTINUATION = 0x0
export const OP_TEXT = 0x1
export const OP_BINARY = 0x2
export const OP_CLOSE = 0x8
export const OP_PING = 0x9
export const OP_PONG = 0xa

// RFC 6455 §7.4.1: close codes Switchboard sends or reports.
export const CLOSE_NORMAL = 1000
export const CLOSE_GOING_AWAY = 1001
export const CLOSE_PROTOCOL_ERROR = 1002
export const CLOSE_UNSUPPORTED_DATA = 1003
/** Reported (never sent) when a close frame carried no status code (RFC 6455 §7.1.5). */
export const CLOSE_NO_STATUS = 1005
/** Reported (never sent) when the TCP connection ended without a close frame (RFC 6455 §7.1.5). */
export const CLOSE_ABNORMAL = 1006
export const CLOSE_INVALID_PAYLOAD = 1007
export const CLOSE_POLICY_VIOLATION = 1008
export const CLOSE_MESSAGE_TOO_BIG = 1009
export const CLOSE_INTERNAL_ERROR = 1011
export const CLOSE_TRY_AGAIN_LATER = 1013

/**
 * The message was handed to the connection and the socket is not backed up: it goes out with
 * this event-loop turn's flush.
 */
export const SENT = 0
/**
 * The message was accepted but the socket is backed up (the kernel did not take the previous
 * flush in full): it waits in memory, counted in `bufferedAmount`; `drain(ws)` fires once the
 * socket has caught up.
 */
export const BUFFERED = 1
/**
 * The message was not sent: the connection is closing or closed, or `bufferedAmount` was already
 * over `maxBackpressure` (with `backpressurePolicy: 'close'` the connection is closed as well).
 */
export const DROPPED = 2

/**
 * The result of `ws.send()` / `ws.sendPrepared()`: `SENT`, `BUFFERED` or `DROPPED`.
 *
 * @example
 * import { DROPPED } from 'switchboard'
 * if (ws.send('tick') === DROPPED) metrics.dropped++
 */
export type SendStatus = typeof SENT | typeof BUFFERED | typeof DROPPED

/** Connection ready states (the same numbers as the browser `WebSocket.readyState`). */
export const CONNECTING = 0
export const OPEN = 1
export const CLOSING = 2
export const CLOSED = 3

/** RFC 6455 §5.5: control frames carry at most 125 bytes of payload. */
export const MAX_CONTROL_PAYLOAD = 125
/** RFC 7692 §7.2.1: the four bytes a compressed message's tail drops and the reader restores. */
export const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff])
