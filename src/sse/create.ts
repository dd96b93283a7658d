// Opening an SSE stream on plain node:http, and writing one event to many streams.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createError } from '../errors/index.ts'
import { encodeEvent, isPreparedEvent, type PreparedEvent, type SseEvent } from './encode.ts'
import { readLastEventId } from './last-event-id.ts'
import { type ResolvedSseOptions, resolveSseOptions, type SseOptions } from './options.ts'
import { SseStream } from './stream.ts'

const DEFAULTS = resolveSseOptions()

/** Per-request inputs of {@link createSseStream} besides the options. */
export interface SseInit {
  /** The raw query string (or parsed params) to read `lastEventId` from; default: `req.url`. */
  query?: string | URLSearchParams
  /** Headers already chosen for this response (CORS, request id); kept on the stream's head. */
  headers?: Readonly<Record<string, string | readonly string[]>> | null
}

/**
 * Opens an SSE stream on a plain node:http request. Reads and validates `Last-Event-ID` (or the
 * `lastEventId` query parameter) first and throws `SWB_ERR_SSE_INVALID_LAST_EVENT_ID` (status
 * 400) before touching the response when it is malformed. The head goes out at the end of the
 * current event-loop turn, together with anything sent before then.
 *
 * @example
 * http.createServer((req, res) => {
 *   const stream = createSseStream(req, res, { retry: 2000 })
 *   stream.send({ data: `resumed after ${stream.lastEventId ?? 'nothing'}` })
 * })
 */
export function createSseStream(
  req: IncomingMessage,
  res: ServerResponse,
  options?: SseOptions | ResolvedSseOptions,
  init?: SseInit,
): SseStream {
  const opts = options === undefined ? DEFAULTS : resolveSseOptions(options)
  if (res.headersSent || res.writableEnded) throw createError('SWB_ERR_SSE_HEADERS_SENT')
  const lastEventId = readLastEventId(req, init?.query, opts.maxLastEventIdLength)
  // A HEAD request gets the head and nothing else, not even padding (RFC 9110 §9.3.2).
  const head = req.method === 'HEAD'
  const streamOpts = head && opts.preamble !== '' ? { ...opts, preamble: '' } : opts
  const stream = new SseStream(req, res, streamOpts, lastEventId, init?.headers ?? null)
  if (head) stream.close()
  return stream
}

/**
 * Writes one prepared event to many streams; returns how many accepted it.
 *
 * @example
 * broadcast(streams, prepareEvent({ event: 'news', data: headline }))
 */
export function broadcast(streams: Iterable<SseStream>, event: SseEvent | PreparedEvent): number {
  const p = isPreparedEvent(event)
    ? event
    : ({ bytes: Buffer.from(encodeEvent(event)) } as PreparedEvent)
  let n = 0
  for (const s of streams) if (s.sendPrepared(p)) n++
  return n
}
