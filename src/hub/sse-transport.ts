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
  /**
   * Optional: appends UTF-8 bytes of whole events, like `write`. With it, streams written the
   * same frames in a turn share one Buffer encoded once, instead of each socket encoding the same
   * string again (for `SseStream`, pass `(bytes) => stream.writeEncoded(bytes)`).
   */
  writeBytes?(bytes: Uint8Array): boolean
  /**
   * Optional: writes what was appended now instead of at the stream's own end-of-turn flush. The
   * hub writes a session once per turn, from its own end-of-turn pass; without this the bytes
   * wait one more turn for the stream's pass (for `SseStream`, pass `() => stream.flush()`).
   */
  flush?(): void
  close(): void
}

interface Cursor {
  channel: string
  offset: number
  epoch: string
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
  readonly sharedBatches = true
  readonly #sink: SseSinkLike
  readonly #urlChannels: readonly string[]
  /** The cursor of the one channel the stream has positions of, while it has only one (most
   * streams: a Map per stream would cost about 180 bytes more). */
  #lone: Cursor | null = null
  /** Every channel's cursor, made when a second channel gets a position (`#lone` is then null). */
  #cursors: Map<string, Cursor> | null = null

  /** `format` defaults to {@link sseFormat}; any format whose frames are SSE event text fits. */
  constructor(sink: SseSinkLike, urlChannels: readonly string[], format: WireFormat = sseFormat) {
    this.format = format
    this.#sink = sink
    this.#urlChannels = urlChannels
  }

  /** The cursors as of the last written frame (what the client's Last-Event-ID holds). */
  get cursors(): ChannelCursor[] {
    if (this.#cursors !== null) return [...this.#cursors.values()]
    return this.#lone === null ? [] : [this.#lone]
  }

  write(frames: readonly Frame[]): boolean {
    const shared = this.#sharedBatch(frames)
    if (shared !== null) {
      const sink = this.#sink
      if (sink.writeBytes === undefined) return this.#written(sink.write(shared))
      if (shared !== batchText) return this.#written(sink.write(shared)) // a lone unshared frame
      batchBytes ??= Buffer.from(batchText)
      return this.#written(sink.writeBytes(batchBytes))
    }
    let out = ''
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!
      if (f.channel !== undefined && f.offset !== undefined && f.epoch !== undefined) {
        this.#move(f.channel, f.offset, f.epoch)
        const all = this.#cursors === null ? [this.#lone!] : this.#cursors.values()
        out += `id: ${encodeSseId(all, this.#urlChannels)}\n`
      }
      out += `${f.data as string}\n`
    }
    return this.#written(this.#sink.write(out))
  }

  close(): void {
    this.#sink.close()
  }

  /** Moves `channel`'s cursor (made on its first position). */
  #move(channel: string, offset: number, epoch: string): void {
    const lone = this.#lone
    if (lone !== null && lone.channel === channel) {
      lone.offset = offset
      lone.epoch = epoch
      return
    }
    if (lone === null && this.#cursors === null) {
      this.#lone = { channel, offset, epoch }
      return
    }
    if (this.#cursors === null) {
      this.#cursors = new Map([[lone!.channel, lone!]])
      this.#lone = null
    }
    const c = this.#cursors.get(channel)
    if (c === undefined) this.#cursors.set(channel, { channel, offset, epoch })
    else {
      c.offset = offset
      c.epoch = epoch
    }
  }

  #written(ok: boolean): boolean {
    this.#sink.flush?.()
    return ok
  }

  /**
   * Fan-out fast path. When every frame that moves a position belongs to one channel and the
   * stream tracks no other channel, each `id:` line depends only on that frame and on how this
   * stream's URL names the channel, so streams written the same frames in a turn produce the
   * same text: it is built once and the same string goes to each of them. Returns `null`
   * (the per-stream path applies) otherwise.
   */
  #sharedBatch(frames: readonly Frame[]): string | null {
    // In a fan-out every stream after the first is handed the very frames the batch was built
    // from: comparing them by identity is all it costs to know the channel and the last position.
    const same = frames.length > 0 && sameFrames(batchFrames, batchCount, frames)
    let last: Frame | null = same ? batchLast : null
    if (!same) {
      for (let i = 0; i < frames.length; i++) {
        const f = frames[i]!
        if (f.channel === undefined || f.offset === undefined || f.epoch === undefined) continue
        if (last !== null && f.channel !== last.channel) return null
        last = f
      }
      if (last === null) return frames.length === 1 ? `${frames[0]!.data as string}\n` : null
    }
    const channel = last!.channel!
    // Positions of another channel go in every id: the per-stream path.
    if (this.#cursors !== null) return null
    const c = this.#lone
    if (c !== null && c.channel !== channel) return null
    const at = this.#urlChannels.indexOf(channel)
    const ref = at >= 0 ? String(at) : `~${channel}`
    let text: string
    if (same && batchRef === ref) text = batchText
    else {
      text = ''
      for (let i = 0; i < frames.length; i++) {
        const f = frames[i]!
        if (f.channel !== undefined && f.offset !== undefined && f.epoch !== undefined) {
          // encodeSseId validates the epoch and name as on the per-stream path.
          text += `id: ${encodeSseId([f as ChannelCursor], this.#urlChannels)}\n`
        }
        text += `${f.data as string}\n`
      }
      batchFrames = frames
      batchCount = frames.length
      batchLast = last
      batchRef = ref
      batchText = text
      batchBytes = null
    }
    if (c === null) this.#lone = { channel, offset: last!.offset!, epoch: last!.epoch! }
    else {
      c.offset = last!.offset!
      c.epoch = last!.epoch!
    }
    return text
  }
}

// The last batch built by the fan-out fast path: the frames (shared objects, compared by
// identity), how the channel was named in the stream's id, and the text. One batch is kept.
let batchFrames: readonly Frame[] = []
let batchCount = 0
/** The last frame of `batchFrames` that carries a position. */
let batchLast: Frame | null = null
let batchRef = ''
let batchText = ''
/** `batchText` encoded, made on the first stream that takes bytes. */
let batchBytes: Buffer | null = null

/** Whether `b` holds the `count` frames `a` held when the batch was built. (A channel turn's
 * shared array may grow after a batch is built from it, so identity alone is not enough.) */
function sameFrames(a: readonly Frame[], count: number, b: readonly Frame[]): boolean {
  if (b.length !== count) return false
  if (a === b) return true
  for (let i = 0; i < count; i++) if (a[i] !== b[i]) return false
  return true
}
