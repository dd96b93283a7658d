import type { Publication, StreamPosition } from '../protocol/index.ts'
import type { BrokerHistoryResult } from './broker.ts'

/** Reads what a hole is missing: publications of `channel` after `since`, at most `limit`. */
export type HoleReader = (
  channel: string,
  since: StreamPosition,
  limit: number,
) => Promise<BrokerHistoryResult>

/** Where ordered publications go. */
export type OrderedSink = (channel: string, publication: Publication, epoch: string) => void

interface Pending {
  readonly epoch: string
  readonly pub: Publication
}

/** One channel's live position on this node. */
class ChannelOrder {
  /** Null until the position is known (between subscribe and its first read). */
  epoch: string | null = null
  offset = 0
  /** A read is under way (the start, or a hole being filled): arrivals wait in `queue`. */
  busy = true
  queue: Pending[] = []
}

/** The most publications one hole fill reads; a longer hole is left to the hub as a gap. */
const MAX_FILL = 10_000
/** Milliseconds between tries of a failed fill read (about 8 s in all), and the most arrivals
 * that may wait meanwhile; past either the hole is left to the hub. */
const RETRY_DELAYS = [50, 100, 200, 400, 800, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000]
const MAX_QUEUE = 10_000

/**
 * Live delivery in offset order with holes filled, for brokers whose live path may lose
 * messages (Redis Pub/Sub, core NATS). Per channel it remembers the last offset delivered; a
 * publication that skips ahead parks, the missing ones are read from the stream and delivered
 * first, then the parked ones follow. Repeats are dropped. What the stream no longer has stays a
 * hole, which the hub turns into a gap marker, so a client hears of a loss only when the
 * publications are really gone.
 *
 * @example
 * const order = new LiveOrder((ch, since, limit) => broker.history(ch, { since, limit }), deliver)
 * order.open('chat:a'); await subscribeTopic(); order.start('chat:a', await top('chat:a'))
 */
export class LiveOrder {
  readonly #channels = new Map<string, ChannelOrder>()
  readonly #read: HoleReader
  readonly #sink: OrderedSink
  readonly #onError: (error: unknown) => void
  /** Holes filled, publications recovered into live delivery, and holes left (for metrics). */
  readonly stats = { holes: 0, filled: 0, unfilled: 0 }

  constructor(read: HoleReader, sink: OrderedSink, onError: (error: unknown) => void) {
    this.#read = read
    this.#sink = sink
    this.#onError = onError
  }

  /** Starts tracking a channel whose position is not known yet: arrivals wait for `start`. */
  open(channel: string): void {
    if (!this.#channels.has(channel)) this.#channels.set(channel, new ChannelOrder())
  }

  /** The channel's position is known: arrivals that waited are delivered from it. */
  start(channel: string, position: StreamPosition): void {
    const state = this.#channels.get(channel)
    if (state === undefined || state.epoch !== null) return
    state.epoch = position.epoch
    state.offset = position.offset
    this.#drain(channel, state)
  }

  /** Stops tracking a channel. */
  close(channel: string): void {
    this.#channels.delete(channel)
  }

  /** Channels tracked. */
  channels(): IterableIterator<string> {
    return this.#channels.keys()
  }

  /** Whether a publication at (`epoch`, `offset`) could still be delivered: false for one at or
   * below what the channel already delivered (an echo), so its body need not be decoded. */
  wants(channel: string, epoch: string, offset: number): boolean {
    const state = this.#channels.get(channel)
    if (state === undefined) return false
    return state.busy || state.epoch !== epoch || offset > state.offset
  }

  /** A live publication arrived. */
  accept(channel: string, epoch: string, pub: Publication): void {
    const state = this.#channels.get(channel)
    if (state === undefined) return
    if (state.busy) {
      state.queue.push({ epoch, pub })
      return
    }
    this.#step(channel, state, epoch, pub)
  }

  /**
   * The live path may have lost messages (the connection to the broker dropped): brings the
   * channel up to `top` from the stream. A new epoch means the stream was replaced; what it holds
   * is delivered from its start, and the hub tells subscribers of the change.
   */
  catchUp(channel: string, top: StreamPosition): void {
    const state = this.#channels.get(channel)
    if (state === undefined || state.busy || state.epoch === null) return
    if (top.epoch !== state.epoch) {
      state.epoch = top.epoch
      state.offset = 0
    }
    if (top.offset > state.offset) this.#fill(channel, state, top.offset, null)
  }

  #step(channel: string, state: ChannelOrder, epoch: string, pub: Publication): void {
    if (epoch !== state.epoch) {
      // A new stream: its earlier publications, if any, are read like any other hole.
      state.epoch = epoch
      state.offset = 0
    }
    const offset = pub.offset
    if (offset <= state.offset) return
    if (offset === state.offset + 1) {
      state.offset = offset
      this.#sink(channel, pub, epoch)
      return
    }
    this.stats.holes++
    this.#fill(channel, state, offset - 1, { epoch, pub })
  }

  /** Reads and delivers the publications after `state.offset` up to `upTo`, then `next`. */
  #fill(
    channel: string,
    state: ChannelOrder,
    upTo: number,
    next: Pending | null,
    attempt = 0,
  ): void {
    state.busy = true
    if (next !== null) state.queue.unshift(next)
    const epoch = state.epoch!
    const since = { offset: state.offset, epoch }
    const limit = Math.min(upTo - state.offset, MAX_FILL)
    this.#read(channel, since, limit).then(
      (res) => {
        if (this.#channels.get(channel) !== state) return
        if (res.epoch === epoch) {
          for (const pub of res.publications) {
            if (pub.offset <= state.offset || pub.offset > upTo) continue
            if (pub.offset !== state.offset + 1) break
            state.offset = pub.offset
            this.stats.filled++
            this.#sink(channel, pub, epoch)
          }
        }
        if (state.offset < upTo) {
          // Gone from the stream too: the hole stays, and the hub marks it as a gap.
          this.stats.unfilled++
          state.offset = upTo
        }
        this.#drain(channel, state)
      },
      (err) => {
        if (this.#channels.get(channel) !== state) return
        // The read failed (the command connection may still be reconnecting while Pub/Sub is
        // back): try again, with arrivals waiting, before leaving the hole to the hub.
        if (attempt < RETRY_DELAYS.length && state.queue.length < MAX_QUEUE) {
          setTimeout(() => {
            if (this.#channels.get(channel) === state)
              this.#fill(channel, state, upTo, null, attempt + 1)
          }, RETRY_DELAYS[attempt]).unref?.()
          return
        }
        this.#onError(err)
        this.stats.unfilled++
        if (state.epoch === epoch && state.offset < upTo) state.offset = upTo
        this.#drain(channel, state)
      },
    )
  }

  /** Delivers what waited, until it is empty or another hole needs a read. */
  #drain(channel: string, state: ChannelOrder): void {
    state.busy = false
    while (state.queue.length > 0 && !state.busy) {
      const { epoch, pub } = state.queue.shift()!
      this.#step(channel, state, epoch, pub)
    }
  }
}
