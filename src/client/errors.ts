/**
 * Errors the client raises itself (the server's errors arrive as reply errors and keep their own
 * `SWB_ERR_*` codes). The client cannot import the server's error table (it may import
 * `protocol/` only), so its few codes live here and in `docs/client.md`.
 *
 * @example
 * try { await client.rpc('add', { a: 1 }) } catch (e) {
 *   if (e instanceof ClientError && e.code === ClientErrorCode.TIMEOUT) retryLater()
 * }
 */
export const ClientErrorCode = {
  /** No reply arrived within the command's timeout. */
  TIMEOUT: 'SWB_ERR_CLIENT_TIMEOUT',
  /** The outbox is full: too many commands are waiting for a connection. */
  OUTBOX_FULL: 'SWB_ERR_CLIENT_OUTBOX_FULL',
  /** The connection was lost after an rpc was sent; it may or may not have run. */
  DISCONNECTED: 'SWB_ERR_CLIENT_DISCONNECTED',
  /** The client was stopped for good (do-not-reconnect code) or the command was cancelled. */
  CLOSED: 'SWB_ERR_CLIENT_CLOSED',
  /** An HTTP POST (SSE transport) failed before a reply was read. */
  TRANSPORT: 'SWB_ERR_CLIENT_TRANSPORT',
  /** The server closed the connection because this command was larger than it accepts (close
   * 1009 or 3503); it is not sent again. */
  TOO_LARGE: 'SWB_ERR_CLIENT_TOO_LARGE',
  /** The server closed the connection because it could not read this command (close 3501); it
   * is not sent again. */
  REFUSED: 'SWB_ERR_CLIENT_REFUSED',
  /** An option has an invalid value. */
  INVALID_OPTION: 'SWB_ERR_CLIENT_INVALID_OPTION',
} as const

/** One of {@link ClientErrorCode}'s values, or a server reply code (`SWB_ERR_*`). */
export type ClientErrorCodeValue = (typeof ClientErrorCode)[keyof typeof ClientErrorCode]

/**
 * An error with a stable code: either one of {@link ClientErrorCode} or the code of a reply
 * error sent by the server (`SWB_ERR_CHANNEL_FORBIDDEN`, …). `temporary` says whether trying
 * again later may succeed.
 *
 * @example
 * new ClientError('SWB_ERR_CLIENT_TIMEOUT', 'rpc "add" timed out after 5000 ms', true)
 */
export class ClientError extends Error {
  override readonly name = 'ClientError'
  readonly code: string
  readonly temporary: boolean

  constructor(code: string, message: string, temporary = false) {
    super(message)
    this.code = code
    this.temporary = temporary
  }
}
