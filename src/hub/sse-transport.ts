import { type ChannelCursor, encodeSseId } from '../protocol/index.ts'
import { type Frame, sseFormat, type Transport, type WireFormat } from './transport.ts'

/** What the hub needs of an SSE response: append raw `text/event-stream` text, and end it. */
export interface SseSinkLike {
  /**
   * Appends text as is (complete events, blank lines included). Returns false when the stream is
   * over its high-water mark — only if the owner will call `session.drain()` once it is below
   * again; a sink without a drain signal returns true and lets its own policy act.
   */
  write(text: string): boolean
  close(): void
}

/**
 * A hub {@link Transport} over a Server-Sent Events stream. Every frame that moves a channel's
 * position (publication, subscribe) gets an `id:` line holding the cursor of every channel on
 * the stream (protocol/sse-id.ts), written before the shared `event:`/`data:` text, so a native
 * `EventSource` resumes all its channels with `Last-Event-ID` alone.
 *
 * @example
 * const session = await hub.openStream({ channels, lastEventId, ticket }, () =>
 *   new SseTransport(sink, channels))
 */
export class SseTransport implements Transport {
  readonly format: WireFormat
  readonly #sink: SseSinkLike
  readonly #urlChannels: readonly string[]
  readonly #cursors = new Map<string, { channel: string; offset: number; epoch: string }>()

  /** `format` defaults to {@link sseFormat}; any format whose frames are SSE event text fits. */
  constructor(sink: SseSinkLike, urlChannels: readonly string[], format: WireFormat = sseFormat) {
    this.format = format
    this.#sink = sink
    this.#urlChannels = urlChannels
  }

  /** The cursors as of the last written frame (what the client's Last-Event-ID holds). */
  get cursors(): ChannelCursor[] {
    return [...this.#cursors.values()]
  }

  write(frames: readonly Frame[]): boolean {
    let out = ''
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!
      if (f.channel !== undefined && f.offset !== undefined && f.epoch !== undefined) {
        const c = this.#cursors.get(f.channel)
        if (c === undefined) {
          this.#cursors.set(f.channel, { channel: f.channel, offset: f.offset, epoch: f.epoch })
        } else {
          c.offset = f.offset
          c.epoch = f.epoch
        }
        out += `id: ${encodeSseId(this.#cursors.values(), this.#urlChannels)}\n`
      }
      out += `${f.data as string}\n`
    }
    return this.#sink.write(out)
  }

  close(): void {
    this.#sink.close()
  }
}
