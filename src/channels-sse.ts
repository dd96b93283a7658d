// The channel endpoint's SSE side: a plain GET with `?channel=` opens a one-way stream session.
//
// Memory: an idle stream session keeps the SseStream, the hub's Session and transport, and one
// StreamSink below, nothing else. No closure outlives the request (a closure made here would keep
// the whole request scope alive: the Context, IncomingMessage, ServerResponse and node:http's
// connection state, about 5 KB per stream), and the stream's end reaches the session through
// `SseStream.watcher` instead of a `closed` promise and its reactions.
import type { ChannelsHost } from './channels.ts'
import type { Context } from './http/context.ts'
import type { HttpRequestInfo } from './hub/auth.ts'
import { type Hub, type Session, type SseSinkLike, SseTransport } from './hub/index.ts'
import type { ResolvedSseOptions, SseOptions, SseStream, SseStreamWatcher } from './sse/index.ts'

/**
 * What the hub writes to one channel stream, and what hears the stream end: the only object the
 * endpoint adds per stream.
 */
class StreamSink implements SseSinkLike, SseStreamWatcher {
  /** Set once the hub has opened the session. */
  session: Session | null = null

  constructor(
    readonly stream: SseStream,
    readonly hub: Hub,
    readonly ip: string,
  ) {}

  // The hub writes each stream once per write window, from its own pass: at once.
  write(text: string): boolean {
    return this.stream.writeNow(text)
  }

  writeBytes(bytes: Uint8Array): boolean {
    return this.stream.writeNow(bytes as Buffer)
  }

  flush(): void {
    this.stream.flush()
  }

  close(): void {
    this.stream.close()
  }

  streamClosed(): void {
    this.hub.limiter.release(this.ip)
    this.session?.closed()
  }
}

/** How the endpoint reads one request (shared with the WebSocket and POST sides). */
export interface StreamEndpointRequest<S> {
  bearer(ctx: Context<S>): string | undefined
  /** The connect hook's view of the request, or undefined without a hook; throws for a
   * cross-origin request that only cookies could authenticate. */
  authRequest(ctx: Context<S>, explicit: boolean): HttpRequestInfo | undefined
}

/**
 * The GET handler that opens a channel stream: authenticates, checks the channels, opens the
 * SSE stream and subscribes it (resuming from `Last-Event-ID` or `?lastEventId=`).
 */
export function streamEndpoint<S>(
  hub: Hub,
  host: ChannelsHost<S>,
  sseOptions: SseOptions,
  read: StreamEndpointRequest<S>,
): (ctx: Context<S>) => Promise<void> {
  // Resolved on the first stream (the app's heartbeat registry is made then), once.
  let resolved: ResolvedSseOptions | null = null
  return async (ctx) => {
    const channels = ctx.searchParams.getAll('channel')
    const header = ctx.headers['last-event-id']
    const lastEventId = typeof header === 'string' && header !== '' ? header : ctx.query.lastEventId
    const token = read.bearer(ctx)
    const ticket = ctx.query.ticket
    const request = read.authRequest(ctx, token !== undefined || ticket !== undefined)
    let sink: StreamSink | null = null
    const ip = ctx.ip
    hub.limiter.admit(ip, Date.now())
    let session: Session
    try {
      session = await hub.openStream(
        {
          channels,
          ...(lastEventId === undefined ? null : { lastEventId }),
          ...(ticket === undefined ? null : { ticket }),
          ...(token === undefined ? null : { token }),
          ...(request === undefined ? null : { request }),
        },
        () => {
          resolved ??= host.sseOptions(sseOptions)
          const stream = ctx.sse(resolved)
          host.claim(stream)
          sink = new StreamSink(stream, hub, ip)
          // An exact copy: the parsed list was grown by push, with room for 17.
          return new SseTransport(sink, channels.slice())
        },
      )
    } catch (err) {
      hub.limiter.release(ip)
      throw err
    }
    const opened = sink as StreamSink | null
    if (opened === null) {
      hub.limiter.release(ip)
      session.closed()
      return
    }
    opened.session = session
    if (opened.stream.isClosed) opened.streamClosed()
    else opened.stream.watcher = opened
  }
}
