import { ClientError } from './errors.ts'
import { type ClientOptions, fetchTicket, type ResolvedOptions, resolveToken } from './options.ts'
import { refusalKind, refusedChannels, type StreamRefusal } from './stream-refusal.ts'
import type { Subscription } from './subscription.ts'
import type { StreamChannel } from './transport.ts'
import type { EventSourceConstructor, FetchLike, SseTransportOptions } from './transport-sse.ts'

/** What to do about a refused SSE stream: `'reconnect'` (the usual backoff), `'reopen'` (at once:
 * the next stream differs), `'stop'` (for good, like a refused WebSocket connect: 3500) or
 * `'done'` (an error listener already called `disconnect()`). */
export type RefusalAction = 'reconnect' | 'reopen' | 'stop' | 'done'

/**
 * What the client keeps about its SSE stream across reopenings: the channels the stream carries
 * (fixed when it is opened), the stream's session from its `connected` push, and the one token
 * retry after a 401. It builds the options of each new stream (every channel's resume position,
 * the token and the stream ticket) and decides what a refusal of the stream means. The
 * connection owns the stream itself (the transport, its generation, when to open it).
 *
 * @example
 * const sse = new SseSession(subs, options, resolveOptions(options))
 * sse.next({ ES: EventSource, fetchFn: fetch }).then((o) => new SseTransport(o, handler))
 */
export class SseSession {
  /** The SSE stream's session id and credential ttl, from its `connected` push (null: none yet). */
  session: { client: string; ttl: number | undefined } | null = null
  /** A stream was refused with 401 and reopened with a fresh token; a second 401 stops. */
  authRetried = false
  readonly #subs: ReadonlyMap<string, Subscription<unknown, unknown>>
  readonly #options: ClientOptions
  readonly #o: ResolvedOptions
  /** The channels the SSE stream being opened (or open) carries: fixed when it is opened. */
  #channels: readonly string[] = []

  constructor(
    subs: ReadonlyMap<string, Subscription<unknown, unknown>>,
    options: ClientOptions,
    resolved: ResolvedOptions,
  ) {
    this.#subs = subs
    this.#options = options
    this.#o = resolved
  }

  /** Starts a new stream: fixes its channel list (each subscription's `since` is the one sent) and
   * resolves with its transport options once the token and the stream ticket are there. */
  next(parts: { ES: EventSourceConstructor; fetchFn: FetchLike }): Promise<SseTransportOptions> {
    const { ES, fetchFn } = parts
    this.session = null // the next stream is a new session, named by its own connected push
    const channels: StreamChannel[] = []
    for (const sub of this.#subs.values()) {
      if (sub.state === 'unsubscribed') continue
      const since = sub._since()
      sub._sentSince = since
      channels.push({ channel: sub.channel, since })
    }
    this.#channels = channels.map((c) => c.channel)
    return resolveToken(this.#options.token).then(async (token) => {
      const own = this.#options.streamTicket
      let ticket: string | undefined
      const names = channels.map((c) => c.channel)
      if (own !== undefined) ticket = await own(names)
      else if (token !== undefined && channels.length > 0) {
        ticket = await fetchTicket(fetchFn, this.#o.ticketUrl, token, names)
      }
      return {
        EventSource: ES,
        fetch: fetchFn,
        streamUrl: this.#o.sseUrl,
        postUrl: this.#o.postUrl,
        channels,
        ticket,
        token,
        withCredentials: this.#options.withCredentials === true,
        probeTimeout: this.#o.timeout,
      }
    })
  }

  /** Whether the SSE stream's channel list differs from the active subscriptions. */
  stale(): boolean {
    const wanted = [...this.#subs.values()].filter((sub) => sub.state !== 'unsubscribed')
    const have = new Set(this.#channels)
    return wanted.length !== have.size || wanted.some((sub) => !have.has(sub.channel))
  }

  /**
   * An SSE stream (or its ticket) refused before it opened, with the server's coded answer:
   * `'reconnect'` when the status calls for the usual reconnect with backoff. The refused list is
   * never retried unchanged: 401 asks a token function once more, then stops like a refused
   * WebSocket connect (3500); 400/403/404 fail the subscriptions at fault (the one the server
   * names, else all of the stream's) like a refused subscribe command, and the stream reopens
   * without them. `disconnected` tells whether an error listener has called `disconnect()`.
   */
  refused(refusal: StreamRefusal, disconnected: () => boolean): RefusalAction {
    const kind = refusalKind(refusal.status)
    if (kind === null) return 'reconnect'
    if (kind === 'auth') {
      const renewable =
        typeof this.#options.token === 'function' || this.#options.streamTicket !== undefined
      if (!renewable || this.authRetried) return 'stop'
      this.authRetried = true
    } else {
      const failed: Subscription<unknown, unknown>[] = []
      for (const channel of refusedChannels(refusal)) {
        const sub = this.#subs.get(channel)
        if (sub === undefined || sub.state === 'unsubscribed') continue
        failed.push(sub)
        sub._onError(new ClientError(refusal.code, refusal.message))
      }
      if (disconnected()) return 'done' // an error listener called disconnect()
      // An error listener subscribed again: the same list would be refused again, so it waits
      // for the usual backoff instead of looping at once.
      if (failed.some((sub) => sub.state !== 'unsubscribed')) return 'reconnect'
    }
    // At once, not after a backoff: the next stream differs (fewer channels, or a fresh token),
    // and each refusal removes a channel or spends the one token retry, so this is bounded.
    return 'reopen'
  }
}
