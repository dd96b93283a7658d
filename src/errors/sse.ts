import { defineErrors } from './define.ts'

/**
 * Errors of the Server-Sent Events layer. Encoder errors are thrown to the caller of
 * `send()`/`prepareEvent()` and never reach the wire; `SWB_ERR_SSE_INVALID_LAST_EVENT_ID` ends
 * the request with 400 before the stream opens.
 */
export const sseErrors = defineErrors({
  SWB_ERR_SSE_INVALID_EVENT: { message: 'An SSE event name must not contain CR or LF' },
  SWB_ERR_SSE_INVALID_ID: { message: 'An SSE event id must not contain CR, LF or NUL' },
  SWB_ERR_SSE_INVALID_RETRY: { message: 'An SSE retry must be a non-negative integer' },
  SWB_ERR_SSE_INVALID_DATA: {
    message: 'SSE data must be a string, UTF-8 bytes or a JSON-serialisable value',
  },
  SWB_ERR_SSE_INVALID_LAST_EVENT_ID: {
    status: 400,
    message: 'The Last-Event-ID is malformed or too long',
  },
  SWB_ERR_SSE_HEADERS_SENT: { message: 'The response headers were already sent' },
})
