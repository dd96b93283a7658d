// The options of an SSE stream, validated once (at route registration) into a frozen, resolved
// form that every stream of the route shares.
import { validateHeaderName, validateHeaderValue } from 'node:http'
import { createError } from '../errors/index.ts'
import { encodeEvent, encodePadding } from './encode.ts'
import { defaultHeartbeat, HeartbeatRegistry } from './heartbeat.ts'
import type { SseStream } from './stream.ts'

/** What to do when a stream's unsent bytes would pass its high-water mark. */
export type SsePolicy = 'drop' | 'close'

/** Why a stream ended. */
export type SseCloseReason = 'client' | 'server' | 'backpressure' | 'error'

/** Options of one SSE stream (or of every stream of an `app.sse()` route). */
export interface SseOptions {
  /** Unsent bytes allowed per stream (ours plus the socket's buffer). Default 65536. */
  highWaterMark?: number
  /** Over the mark: `'close'` destroys the stream (the client reconnects and resumes with
   * `Last-Event-ID`), `'drop'` discards the event and counts it in `dropped`. Default `'close'`. */
  policy?: SsePolicy
  /** The shared heartbeat registry, or `false` for no heartbeat. Default: the process-wide
   * {@link defaultHeartbeat} (one 15 s timer). */
  heartbeat?: HeartbeatRegistry | false
  /** Initial padding comment for old proxies: a byte count, or `true` for 2048. Default off. */
  padding?: number | boolean
  /** A `retry:` (ms) sent with the head, before any event. Default none (browsers use ~3 s). */
  retry?: number
  /** Longest accepted `Last-Event-ID` / `lastEventId`, in UTF-8 bytes. Default 256. */
  maxLastEventIdLength?: number
  /** Extra response headers (validated once). */
  headers?: Record<string, string | readonly string[]>
  /**
   * On HTTP/1.x, hand the socket over from node:http once the head is out, freeing its parser,
   * request and response (about 6 KB per idle stream; see `detach.ts`). Default `true`.
   */
  detach?: boolean
}

/** Options after validation; made once per route by {@link resolveSseOptions}. */
export interface ResolvedSseOptions {
  readonly highWaterMark: number
  readonly policy: SsePolicy
  readonly heartbeat: HeartbeatRegistry | null
  readonly maxLastEventIdLength: number
  readonly detach: boolean
  /** Response head lines after the status line (HTTP/1.1 and HTTP/1.0 variants). */
  readonly head11: string
  readonly head10: string
  /** Bytes written right after the head (padding, retry), or ''. */
  readonly preamble: string
  readonly headerMap: Readonly<Record<string, string | readonly string[]>>
}

const DEFAULT_HWM = 64 * 1024
const resolvedSet = new WeakSet<object>()

/**
 * Validates SSE options once. Pass the result to every `createSseStream` call of a route so no
 * stream pays for it again.
 *
 * @example
 * const opts = resolveSseOptions({ policy: 'drop', highWaterMark: 16_384 })
 */
export function resolveSseOptions(options?: SseOptions | ResolvedSseOptions): ResolvedSseOptions {
  if (options !== undefined && resolvedSet.has(options)) return options as ResolvedSseOptions
  const o = (options ?? {}) as SseOptions
  const hwm = o.highWaterMark ?? DEFAULT_HWM
  if (!Number.isSafeInteger(hwm) || hwm < 1) invalid('highWaterMark must be a positive integer')
  const policy = o.policy ?? 'close'
  if (policy !== 'drop' && policy !== 'close') invalid(`policy must be 'drop' or 'close'`)
  const hb = o.heartbeat === undefined ? defaultHeartbeat : o.heartbeat
  if (hb !== false && !(hb instanceof HeartbeatRegistry)) {
    invalid('heartbeat must be a HeartbeatRegistry or false')
  }
  const maxId = o.maxLastEventIdLength ?? 256
  if (!Number.isSafeInteger(maxId) || maxId < 1) {
    invalid('maxLastEventIdLength must be a positive integer')
  }
  let preamble = ''
  if (o.padding !== undefined && o.padding !== false) {
    const n = o.padding === true ? 2048 : o.padding
    if (!Number.isSafeInteger(n) || n < 2 || n > 65536) invalid('padding must be 2-65536 bytes')
    preamble += encodePadding(n)
  }
  if (o.retry !== undefined) preamble += encodeEvent({ retry: o.retry })
  const headerMap: Record<string, string | readonly string[]> = {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
  }
  let extra = ''
  for (const [name, value] of Object.entries(o.headers ?? {})) {
    const lower = name.toLowerCase()
    if (OWN_HEADERS.has(lower)) invalid(`headers must not set ${name}; the SSE stream owns it`)
    try {
      validateHeaderName(name)
      for (const v of Array.isArray(value) ? value : [value]) {
        validateHeaderValue(name, v)
        extra += `${name}: ${v}\r\n`
      }
    } catch (cause) {
      throw createError('SWB_ERR_INVALID_OPTION', `headers.${name} is not a valid header`, cause)
    }
    headerMap[lower] = value
  }
  const base =
    'Content-Type: text/event-stream; charset=utf-8\r\n' +
    'Cache-Control: no-cache, no-transform\r\n' +
    'X-Accel-Buffering: no\r\n' +
    extra
  const resolved: ResolvedSseOptions = Object.freeze({
    highWaterMark: hwm,
    policy,
    heartbeat: hb === false ? null : hb,
    maxLastEventIdLength: maxId,
    detach: o.detach !== false,
    // Keep-alive is an HTTP/1.1 notion; HTTP/2 forbids connection headers (RFC 9113 §8.2.2).
    head11: `HTTP/1.1 200 OK\r\n${base}Connection: keep-alive\r\n`,
    head10: `HTTP/1.1 200 OK\r\n${base}`,
    preamble,
    headerMap: Object.freeze(headerMap),
  })
  resolvedSet.add(resolved)
  return resolved
}

function invalid(message: string): never {
  throw createError('SWB_ERR_INVALID_OPTION', `sse: ${message}`)
}

/** Headers the stream writes itself (or that must never be on a close-delimited stream). */
export const OWN_HEADERS = new Set([
  'content-type',
  'cache-control',
  'x-accel-buffering',
  'connection',
  'keep-alive',
  'content-length',
  'transfer-encoding',
  'content-encoding',
])

/**
 * Hears that a stream ended, once, in a microtask after the end: what an owner of many streams
 * sets (`stream.watcher`) instead of holding a `closed` promise, its reaction and a closure per
 * stream.
 */
export interface SseStreamWatcher {
  streamClosed(stream: SseStream): void
}
