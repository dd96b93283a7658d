import { readServerMessage } from '../protocol/compact-push.ts'
import type { ClientCommand, Reply } from '../protocol/messages.ts'
import { encodeSseId } from '../protocol/sse-id.ts'
import { ClientErrorCode } from './errors.ts'
import { probeStream, readRefusal, type StreamRefusal } from './stream-refusal.ts'
import {
  ABNORMAL_CLOSURE,
  type ClientTransport,
  type StreamChannel,
  type TransportHandler,
} from './transport.ts'

/** The part of the WHATWG `EventSource` the client uses (browsers, the `eventsource` package). */
export interface EventSourceLike {
  readonly readyState: number
  onopen: ((event: unknown) => void) | null
  onerror: ((event: unknown) => void) | null
  addEventListener(type: string, listener: (event: { data: string }) => void): void
  close(): void
}

/** An `EventSource` constructor. */
export type EventSourceConstructor = new (
  url: string,
  init?: { withCredentials?: boolean },
) => EventSourceLike

/** The part of `fetch` the client uses. */
export type FetchLike = (
  url: string,
  init: {
    method: string
    headers: Record<string, string>
    body?: string
    credentials?: 'include'
    signal?: AbortSignal
  },
) => Promise<{ readonly ok: boolean; readonly status: number; text(): Promise<string> }>

/** Where and how the SSE transport connects. */
export interface SseTransportOptions {
  readonly EventSource: EventSourceConstructor
  readonly fetch: FetchLike
  /** The stream endpoint (`GET`, `?channel=…`). */
  readonly streamUrl: string
  /** The command endpoint (`POST`, one JSON command per request, the JSON reply as the body). */
  readonly postUrl: string
  /** Channels to stream, each with its resume position. */
  readonly channels: readonly StreamChannel[]
  /** A short-lived stream ticket (`EventSource` cannot send an `Authorization` header). */
  readonly ticket?: string | undefined
  /** The connect token, sent as `Authorization: Bearer …` on every POST. */
  readonly token?: string | undefined
  /** Send cookies cross-origin. Default false. */
  readonly withCredentials?: boolean
  /** Longest wait (ms) for the `fetch` that asks why a stream failed before it opened.
   * Default 10 000. */
  readonly probeTimeout?: number
}

/** The reachability probe sent when there is no channel to stream (any status below 500 will
 * do: it proves an HTTP server answers at the command endpoint). */
const PROBE = '{"id":2147483647,"type":"ping"}'

// Every SSE event name a v1 server uses; the JSON in `data` carries the type again, so any name
// maps to the same handler.
const EVENT_NAMES = [
  'message',
  'publication',
  'join',
  'leave',
  'gap',
  'subscribe',
  'unsubscribe',
  'disconnect',
  'connected',
  'connect',
  'reply',
]

/**
 * Builds the stream URL: `?channel=a&channel=b`, plus `lastEventId` holding the same cursor an
 * SSE id carries (protocol/sse-id.ts) when any channel has a position, plus `ticket`. A native
 * `EventSource` can only send `Last-Event-ID` on its own reconnects, so the client reopening a
 * stream passes it in the query instead.
 *
 * @example
 * streamUrl('https://x/sb', [{ channel: 'chat:a', since: { offset: 3, epoch: 'e1' } }])
 * // 'https://x/sb?channel=chat%3Aa&lastEventId=1%2C0.3.e1'
 */
export function streamUrl(
  base: string,
  channels: readonly StreamChannel[],
  ticket?: string,
): string {
  const params = new URLSearchParams()
  const names: string[] = []
  const cursors: { channel: string; offset: number; epoch: string }[] = []
  for (const c of channels) {
    params.append('channel', c.channel)
    names.push(c.channel)
    if (c.since !== undefined) cursors.push({ channel: c.channel, ...c.since })
  }
  if (cursors.length > 0) {
    try {
      params.set('lastEventId', encodeSseId(cursors, names))
    } catch {
      // a position outside the grammar cannot be resumed; the server answers recovered: false
    }
  }
  if (ticket !== undefined) params.set('ticket', ticket)
  const query = params.toString()
  if (query === '') return base
  return base + (base.includes('?') ? '&' : '?') + query
}

/**
 * The SSE transport: publications and other pushes arrive on an `EventSource`; commands go out as
 * HTTP POSTs whose bodies are the replies, so no POST needs to reach the process holding the
 * stream. The client, not the `EventSource`, handles reconnects: on an error the stream is closed
 * and reported, and the client reopens it after its backoff with every channel's position. A
 * stream that fails before it opened is first asked about once with `fetch` (`probeStream`), so
 * the report carries the server's coded refusal when there is one.
 *
 * @example
 * const t = new SseTransport({ EventSource, fetch, streamUrl: u, postUrl: u, channels }, handler)
 */
export class SseTransport implements ClientTransport {
  readonly name = 'sse'
  readonly #options: SseTransportOptions
  readonly #handler: TransportHandler
  readonly #source: EventSourceLike | null
  readonly #url: string
  /** Aborts the refusal probe in flight (see `#onError`). */
  #abort: AbortController | null = null
  /** The bearer token of POSTs; replaced by {@link SseTransport.useToken} after a refresh. */
  #token: string | undefined
  #opened = false
  #received = false
  #closed = false

  constructor(options: SseTransportOptions, handler: TransportHandler) {
    this.#options = options
    this.#token = options.token
    this.#handler = handler
    this.#url = streamUrl(options.streamUrl, options.channels, options.ticket)
    if (options.channels.length === 0) {
      // Nothing to stream (a stream needs at least one channel): commands only. A `ping` POST
      // proves the server is reachable before the client calls itself connected.
      this.#source = null
      this.#probe()
      return
    }
    const source = new options.EventSource(this.#url, {
      withCredentials: options.withCredentials === true,
    })
    source.onopen = this.#onOpen
    source.onerror = this.#onError
    for (const name of EVENT_NAMES) source.addEventListener(name, this.#onEvent)
    this.#source = source
  }

  /**
   * The channel-less start: a `ping` POST with the client's credential. A 401 is the credential
   * refused (reported like a refused stream, so the client asks a token function once more, then
   * stops); another answer below 500 means the server is there.
   */
  #probe(): void {
    this.#post(PROBE).then(
      (response) => {
        if (this.#closed) return
        if (response.status === 401) {
          response.text().then(
            (text) => this.#refused(readRefusal(401, text, [])),
            () => this.#refused(null),
          )
        } else if (response.status >= 500) this.#onError()
        else this.#onOpen()
      },
      () => this.#onError(),
    )
  }

  #refused(refusal: StreamRefusal | null): void {
    if (this.#closed) return
    this.close()
    const reason = refusal === null ? 'refused' : `refused: ${refusal.status} ${refusal.code}`
    this.#handler.onClose(ABNORMAL_CLOSURE, reason, false, false, refusal ?? undefined)
  }

  /** POSTs `body` with the bearer token, or the stream ticket when there is no token. */
  #post(body: string): ReturnType<FetchLike> {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`
    const init = { method: 'POST', headers, body }
    if (this.#options.withCredentials === true) Object.assign(init, { credentials: 'include' })
    let url = this.#options.postUrl
    if (this.#token === undefined && this.#options.ticket !== undefined) {
      url += `${url.includes('?') ? '&' : '?'}ticket=${encodeURIComponent(this.#options.ticket)}`
    }
    return this.#options.fetch(url, init)
  }

  send(command: ClientCommand): void {
    if (this.#closed) return
    this.#post(JSON.stringify(command)).then(
      (response) =>
        response.text().then((text) => this.#onReply(command.id, response.status, text)),
      (error: unknown) => this.#onReply(command.id, 0, '', error),
    )
  }

  /**
   * Sends later POSTs with `token` (a refreshed credential), so commands keep working after the
   * token the stream was opened with has expired.
   *
   * @example
   * transport.useToken(await getToken())
   */
  useToken(token: string): void {
    this.#token = token
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#abort?.abort()
    this.#abort = null
    this.#stopSource()
  }

  #stopSource(): void {
    const source = this.#source
    if (source === null) return
    source.onopen = null
    source.onerror = null
    source.close()
  }

  // Not dropped after close(): a POST sent before the client reopened the stream or moved to
  // WebSocket still answers its command (the client matches replies by id, whatever carried them).
  #onReply(id: number, status: number, text: string, error?: unknown): void {
    let body: unknown
    try {
      body = text === '' ? undefined : JSON.parse(text)
    } catch {
      body = undefined
    }
    const b = body as Partial<Reply> | undefined
    if (b !== undefined && (b.result !== undefined || b.error !== undefined) && status !== 0) {
      // A reply, or an HTTP error body `{ error: { code, message } }`: either way it answers `id`.
      const reply: Reply = b.error !== undefined ? { id, error: b.error } : { id, result: b.result }
      this.#handler.onMessage(reply)
      return
    }
    const message =
      status === 0
        ? `POST failed: ${String((error as Error)?.message ?? error)}`
        : `POST answered ${status}`
    this.#handler.onMessage({
      id,
      error: { code: ClientErrorCode.TRANSPORT, message, temporary: status === 0 || status >= 500 },
    })
  }

  #onOpen = (): void => {
    if (this.#closed || this.#opened) return
    this.#opened = true
    this.#handler.onOpen()
  }

  #onEvent = (event: { data: string }): void => {
    if (this.#closed) return
    let decoded: unknown
    try {
      decoded = JSON.parse(event.data)
    } catch {
      decoded = undefined
    }
    const value = readServerMessage(decoded)
    if (value === undefined) return // comments and foreign events are not ours
    this.#received = true
    this.#handler.onMessage(value)
  }

  #onError = (): void => {
    if (this.#closed) return
    // Whether the EventSource gave up (CLOSED: an HTTP error or a wrong content type) or is about
    // to retry by itself (CONNECTING), the client takes over: it reopens with fresh positions.
    const opened = this.#opened
    if (opened || this.#source === null) {
      const received = this.#received
      this.close()
      this.#handler.onClose(
        ABNORMAL_CLOSURE,
        opened ? 'stream lost' : 'stream refused',
        opened,
        received,
      )
      return
    }
    // Failed before it opened: an EventSource cannot see the status, so ask the same URL once
    // with fetch; a coded 4xx answer tells the client which channel (or credential) was refused.
    this.#stopSource()
    const abort = typeof AbortController === 'function' ? new AbortController() : undefined
    this.#abort = abort ?? null
    const names = this.#options.channels.map((c) => c.channel)
    probeStream(this.#options.fetch, this.#url, names, {
      timeout: this.#options.probeTimeout ?? 10_000,
      withCredentials: this.#options.withCredentials === true,
      abort,
    }).then((refusal) => {
      if (this.#closed) return
      this.#closed = true
      this.#abort = null
      const reason =
        refusal === null ? 'stream refused' : `stream refused: ${refusal.status} ${refusal.code}`
      this.#handler.onClose(ABNORMAL_CLOSURE, reason, false, false, refusal ?? undefined)
    })
  }
}
