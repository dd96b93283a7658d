/**
 * The Server-Sent Events encoder: pure functions that turn an event into the bytes of the
 * `text/event-stream` format of the WHATWG HTML standard, §9.2.6 "Interpreting an event stream".
 *
 * Field values are written as `name: value` (one space after the colon; a parser strips exactly
 * one), so leading spaces of a value survive. Every event ends with a blank line, which is what
 * makes a client dispatch it.
 */
import { createError } from '../errors/index.ts'

/** One event as the caller describes it. Every field is optional. */
export interface SseEvent {
  /**
   * The payload. A string is sent as is (split into one `data:` line per line); bytes must be
   * UTF-8 text; any other value is sent as its `JSON.stringify` form.
   */
  data?: unknown
  /** The event type (`event:` field); a client's `addEventListener(type)` receives it. */
  event?: string
  /** The event id (`id:` field); the client sends the last one back as `Last-Event-ID`. */
  id?: string | number
  /** The client's reconnection delay in milliseconds (`retry:` field). */
  retry?: number | string
}

const PREPARED = Symbol('switchboard.sse.prepared')

/**
 * An event encoded once, ready to be written to any number of streams without encoding again.
 * Create it with {@link prepareEvent}; write it with `stream.sendPrepared(prepared)`.
 */
export interface PreparedEvent {
  /** The encoded UTF-8 bytes, blank line included. Shared; never mutate it. */
  readonly bytes: Buffer
  readonly [PREPARED]: true
}

const utf8 = new TextDecoder('utf-8', { fatal: true })
const LINE_BREAK = /\r\n|\r|\n/

/**
 * Encodes one event to its `text/event-stream` text, blank line included.
 * Throws a coded error (`SWB_ERR_SSE_INVALID_*`) for a value that would inject fields or events.
 *
 * @example
 * encodeEvent({ event: 'tick', id: 7, data: 'a\nb' }) // 'id: 7\nevent: tick\ndata: a\ndata: b\n\n'
 */
export function encodeEvent(event: SseEvent): string {
  let out = ''
  if (event.retry !== undefined) out += `retry: ${checkRetry(event.retry)}\n`
  if (event.id !== undefined) out += `id: ${checkId(event.id)}\n`
  if (event.event !== undefined) out += `event: ${checkEventName(event.event)}\n`
  if (event.data !== undefined) out += encodeData(event.data)
  return `${out}\n`
}

/**
 * Encodes an event once into a {@link PreparedEvent}, the form to fan one event out to many
 * streams: each `sendPrepared()` appends the same bytes.
 *
 * @example
 * const tick = prepareEvent({ event: 'price', data: { sym: 'ACME', px: 12.5 } })
 * for (const s of subscribers) s.sendPrepared(tick)
 */
export function prepareEvent(event: SseEvent): PreparedEvent {
  return Object.freeze({
    bytes: Buffer.from(encodeEvent(event), 'utf8'),
    [PREPARED]: true as const,
  })
}

/** Whether `value` was made by {@link prepareEvent}. */
export function isPreparedEvent(value: unknown): value is PreparedEvent {
  return typeof value === 'object' && value !== null && (value as PreparedEvent)[PREPARED] === true
}

/**
 * Encodes a comment: one `:` line per line of `text` (CR, LF and CRLF split lines, so a comment
 * can never end early and inject a field). Clients ignore comments; they keep proxies awake.
 *
 * @example
 * encodeComment('hello') // ': hello\n'
 */
export function encodeComment(text = ''): string {
  if (text === '') return ':\n'
  let out = ''
  for (const line of text.split(LINE_BREAK)) out += line === '' ? ':\n' : `: ${line}\n`
  return out
}

/**
 * An initial padding comment of exactly `bytes` bytes (at least 2), for old proxies and
 * browsers that buffer the first kilobytes of a response.
 *
 * @example
 * encodePadding(2048).length // 2048
 */
export function encodePadding(bytes: number): string {
  const n = Math.max(2, Math.floor(bytes))
  return `:${' '.repeat(n - 2)}\n`
}

/** `data` lines: §9.2.6 treats CRLF, lone CR and lone LF all as line ends, so split on each. */
function encodeData(data: unknown): string {
  let text: string
  if (typeof data === 'string') text = data
  else if (data instanceof Uint8Array) {
    try {
      text = utf8.decode(data)
    } catch (cause) {
      throw createError('SWB_ERR_SSE_INVALID_DATA', 'SSE data bytes are not valid UTF-8', cause)
    }
  } else {
    let json: string | undefined
    try {
      json = JSON.stringify(data)
    } catch (cause) {
      throw createError('SWB_ERR_SSE_INVALID_DATA', undefined, cause)
    }
    // JSON escapes CR and LF inside strings, so JSON text is always a single line.
    if (json === undefined) throw createError('SWB_ERR_SSE_INVALID_DATA')
    return `data: ${json}\n`
  }
  if (text.indexOf('\n') === -1 && text.indexOf('\r') === -1) return `data: ${text}\n`
  let out = ''
  for (const line of text.split(LINE_BREAK)) out += `data: ${line}\n`
  return out
}

function checkEventName(name: string): string {
  if (typeof name !== 'string') {
    throw createError('SWB_ERR_SSE_INVALID_EVENT', 'An SSE event name must be a string')
  }
  // A CR or LF would end the field and let the rest be read as new fields or a new event.
  if (name.indexOf('\n') !== -1 || name.indexOf('\r') !== -1) {
    throw createError('SWB_ERR_SSE_INVALID_EVENT')
  }
  return name
}

function checkId(id: string | number): string {
  const text = typeof id === 'number' && Number.isFinite(id) ? String(id) : id
  if (typeof text !== 'string') {
    throw createError('SWB_ERR_SSE_INVALID_ID', 'An SSE event id must be a string or a number')
  }
  // §9.2.6: an id field whose value contains NULL is ignored, so we refuse it loudly instead.
  if (text.indexOf('\n') !== -1 || text.indexOf('\r') !== -1 || text.indexOf('\0') !== -1) {
    throw createError('SWB_ERR_SSE_INVALID_ID')
  }
  return text
}

/** §9.2.6: a `retry` value is used only when it consists of ASCII digits alone. */
function checkRetry(retry: number | string): string {
  if (typeof retry === 'number') {
    if (Number.isSafeInteger(retry) && retry >= 0) return String(retry)
  } else if (typeof retry === 'string' && /^[0-9]{1,15}$/.test(retry)) return retry
  throw createError('SWB_ERR_SSE_INVALID_RETRY')
}
