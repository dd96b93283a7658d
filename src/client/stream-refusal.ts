import type { FetchLike } from './transport-sse.ts'

/**
 * Why the server refused an SSE stream before it started: the HTTP status and the coded JSON
 * body (`{ "error": { "code": "SWB_ERR_…", "message": "…" } }`) of the answer. An `EventSource`
 * cannot see either (it only fires a bare `error`), so the client asks again with one `fetch`.
 */
export interface StreamRefusal {
  readonly status: number
  readonly code: string
  readonly message: string
  /** `details.channel` of the body: the channel the server refused the stream for. */
  readonly channel?: string
  /** The channels the refused stream asked for. */
  readonly channels: readonly string[]
}

/** What the client does about a refusal: `'auth'` (401: the credential), `'channel'` (400, 403,
 * 404: a channel of the list cannot be streamed), or `null` (reconnect with backoff as usual). */
export type RefusalKind = 'auth' | 'channel' | null

/**
 * The kind of a refusal, by its status.
 *
 * @example
 * refusalKind(403) // 'channel'
 * refusalKind(503) // null
 */
export function refusalKind(status: number): RefusalKind {
  if (status === 401) return 'auth'
  if (status === 400 || status === 403 || status === 404) return 'channel'
  return null
}

/**
 * Reads a coded error body; `null` when the body is not one (a proxy's page, an empty body).
 *
 * @example
 * readRefusal(403, '{"error":{"code":"SWB_ERR_CHANNEL_FORBIDDEN","message":"No"}}', ['vip:x'])
 * // { status: 403, code: 'SWB_ERR_CHANNEL_FORBIDDEN', message: 'No', channels: ['vip:x'] }
 */
export function readRefusal(
  status: number,
  text: string,
  channels: readonly string[],
): StreamRefusal | null {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return null
  }
  const error = (
    body as {
      error?: { code?: unknown; message?: unknown; details?: { channel?: unknown } }
    } | null
  )?.error
  if (typeof error?.code !== 'string' || !error.code.startsWith('SWB_ERR_')) return null
  const message = typeof error.message === 'string' ? error.message : error.code
  const channel = error.details?.channel
  return typeof channel === 'string'
    ? { status, code: error.code, message, channel, channels }
    : { status, code: error.code, message, channels }
}

/**
 * The channels a refusal is about. The server names the channel at fault in `details.channel`
 * (the message names it too, JSON-quoted: `Not allowed on this channel: channel "vip:x"`, and is
 * read when `details` is missing); when exactly one of the stream's channels is named, it alone
 * is at fault, otherwise every channel of the stream is.
 *
 * @example
 * refusedChannels({ ...refusal, channel: 'b', channels: ['a', 'b'] }) // ['b']
 * refusedChannels({ ...refusal, message: 'No: channel "b"', channels: ['a', 'b'] }) // ['b']
 */
export function refusedChannels(refusal: StreamRefusal): readonly string[] {
  if (refusal.channel !== undefined && refusal.channels.includes(refusal.channel)) {
    return [refusal.channel]
  }
  let named: string | null = null
  for (const channel of refusal.channels) {
    if (!refusal.message.includes(JSON.stringify(channel))) continue
    if (named !== null) return refusal.channels
    named = channel
  }
  return named === null ? refusal.channels : [named]
}

/**
 * Asks the stream URL once more with `fetch` to learn why an `EventSource` failed before it
 * opened. A 200 answer is aborted at once (no second stream stays open); any other answer's coded
 * body becomes the refusal. Resolves `null` for a network error, a timeout, a 200 or a body that
 * is not coded: the caller then reconnects with backoff as usual.
 *
 * @example
 * const refusal = await probeStream(fetch, url, ['chat:a'], { timeout: 10_000 })
 */
export function probeStream(
  fetchFn: FetchLike,
  url: string,
  channels: readonly string[],
  options: { timeout: number; withCredentials?: boolean; abort?: AbortController | undefined },
): Promise<StreamRefusal | null> {
  const abort = options.abort
  const init: Parameters<FetchLike>[1] = { method: 'GET', headers: { accept: 'text/event-stream' } }
  if (abort !== undefined) init.signal = abort.signal
  if (options.withCredentials === true) init.credentials = 'include'
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      abort?.abort()
      resolve(null)
    }, options.timeout)
    const done = (refusal: StreamRefusal | null): void => {
      clearTimeout(timer)
      resolve(refusal)
    }
    fetchFn(url, init).then(
      (response) => {
        if (response.status === 200) {
          abort?.abort() // the stream would work now: do not keep a second one open
          done(null)
        } else
          response.text().then(
            (text) => done(readRefusal(response.status, text, channels)),
            () => done(null),
          )
      },
      () => done(null),
    )
  })
}

/** A stream ticket the server refused with 401 (the token is wrong or expired). */
export class TicketRefused extends Error {
  readonly refusal: StreamRefusal
  constructor(refusal: StreamRefusal) {
    super(`stream ticket refused: ${refusal.code}`)
    this.refusal = refusal
  }
}
