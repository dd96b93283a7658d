// The channel side of fan-out: a channel's state on this node, the publications it fanned out
// in the current event-loop turn (and the sessions riding them), and one session's subscription.
import type { Publication } from '../protocol/index.ts'
import type { HubStats } from './hub-options.ts'
import type { Namespace } from './namespace.ts'
import { PreparedPublication, pushFields } from './prepared.ts'
import type { Session } from './session.ts'
import type { Frame, WireFormat } from './transport.ts'

/** The runtime state of one channel on this node: its namespace and local subscriptions. */
export class ChannelState {
  readonly name: string
  readonly ns: Namespace
  readonly subs = new Set<Subscription>()
  /** Resolves once the broker delivers this channel's live events to this node. */
  ready: Promise<void> | null = null
  /** This write window's publications (see {@link ChannelTurn}); null between windows. */
  turn: ChannelTurn | null = null
  /** Epoch of the last publication fanned out ('' before the first): pushes name the epoch
   * only when it changes. */
  epoch = ''

  constructor(name: string, ns: Namespace) {
    this.name = name
    this.ns = ns
  }
}

/**
 * The publications one channel fanned out in one event-loop turn, in order (in one write window
 * when the hub has a `writeDelay`: the turn then lasts until the window closes). A session whose
 * transport writes shared batches (SSE, WebSocket) and that takes every one of them from some
 * point on follows the turn instead of queuing each frame: at the flush it is handed one frames
 * array that every such session shares.
 *
 * While the turn *rides* (the usual case: publications continue each other, same epoch and the
 * next offset, and every follower has room for them), a follower that joined it is not visited
 * again: each further publication is taken by all riders at once (`rideEnd` moves), and only the
 * channel's other subscriptions (`others`) are delivered to one by one. A publication that does
 * not continue the last, or that would take a rider past the outbox limit, ends the ride: every
 * rider becomes an ordinary follower ending where the ride ended, and from then on the turn is
 * delivered to each subscription as before.
 */
export class ChannelTurn {
  readonly pubs: PreparedPublication[] = []
  /** Riders take every publication before `rideEnd` from where they joined. */
  riding = true
  rideEnd = 0
  /** Sessions riding now (they are counted as delivered to once per publication). */
  riders = 0
  /** Subscriptions delivered to one by one while the turn rides (may hold ones that ride since
   * or were removed: the fan-out skips those). */
  readonly others: Subscription[] = []
  /** The channel's subscriptions: the riders are those of them with `riding` set. */
  readonly #subs: ReadonlySet<Subscription>
  #stats: HubStats | null = null
  // Per wire format the riders use: bytes of its frames from the publication its first rider
  // joined with up to `rideEnd`, and how far that count may go before some rider of the format
  // would be over the outbox limit (the least room among them).
  readonly #rideFormats: WireFormat[] = []
  readonly #cum: number[] = []
  readonly #room: number[] = []
  // One frames array per wire format in use (WebSocket JSON, MessagePack, SSE subscribers of one
  // channel each share theirs), grown as the turn grows.
  readonly #formats: WireFormat[] = []
  readonly #frames: Frame[][] = []

  constructor(subs: ReadonlySet<Subscription>) {
    this.#subs = subs
  }

  /** Frames in `format` of `pubs[from, end)`; the whole turn is one array per format, shared. */
  frames(format: WireFormat, from: number, end: number): Frame[] {
    let at = this.#formats.indexOf(format)
    if (at < 0) {
      at = this.#formats.push(format) - 1
      this.#frames.push([])
    }
    const frames = this.#frames[at]!
    for (let i = frames.length; i < this.pubs.length; i++) frames.push(this.pubs[i]!.frame(format))
    return from === 0 && end === frames.length ? frames : frames.slice(from, end)
  }

  /** @internal a session starts riding with `frame`, the turn's last publication, which it has
   * room for (`held` bytes already in its connection); returns the byte count it rode from. */
  join(session: Session, format: WireFormat, frame: Frame, held: number, limit: number): number {
    let f = this.#rideFormats.indexOf(format)
    if (f < 0) {
      f = this.#rideFormats.push(format) - 1
      this.#cum.push(frame.byteLength)
      this.#room.push(Number.POSITIVE_INFINITY)
    }
    // The last publication is counted in `#cum` already (by `extend`, or just above).
    const from = this.#cum[f]! - frame.byteLength
    const room = limit - held + from
    if (room < this.#room[f]!) this.#room[f] = room
    this.#stats = session.owner.stats
    this.riders++
    return from
  }

  /** Bytes of this format's frames the riders took so far (from the format's first rider on). */
  rode(format: WireFormat): number {
    return this.#cum[this.#rideFormats.indexOf(format)]!
  }

  /**
   * Lets every rider take `pub` (just appended to `pubs`), when it continues the last
   * publication and fits each rider's room. Returns false, changing nothing, otherwise.
   */
  extend(pub: PreparedPublication): boolean {
    const last = this.pubs[this.rideEnd - 1]!
    if (pub.epoch !== last.epoch || pub.offset !== last.offset + 1) return false
    const formats = this.#rideFormats
    const cum = this.#cum
    try {
      for (let i = 0; i < formats.length; i++) {
        if (cum[i]! + pub.frame(formats[i]!).byteLength > this.#room[i]!) return false
      }
    } catch {
      // A value one of the riders' formats cannot carry: the ride ends, and the fan-out that
      // follows handles it per subscriber (a gap marker).
      return false
    }
    for (let i = 0; i < formats.length; i++) cum[i] = cum[i]! + pub.frame(formats[i]!).byteLength
    this.rideEnd++
    if (this.#stats !== null) this.#stats.delivered += this.riders
    return true
  }

  /** Ends the ride: every rider becomes a follower of `pubs[from, rideEnd)`. */
  settle(): void {
    this.riding = false
    this.#subs.forEach(settleRider, this)
  }
}

function settleRider(this: ChannelTurn, sub: Subscription): void {
  if (sub.riding) sub.session.settleRide(this)
}

/**
 * One session's subscription to one channel. Until the subscribe answer is queued it buffers
 * live publications (`live` false), so recovery and live delivery join up without loss or
 * duplicates: anything at or below the recovered position is skipped.
 */
export class Subscription {
  readonly session: Session
  readonly channel: ChannelState
  epoch = ''
  /** Offset of the last publication queued for this session. */
  offset = 0
  live = false
  /** Still one of its channel's subscriptions (cleared when it ends). */
  active = true
  /** Its session rides the channel's turn for it (see {@link ChannelTurn}). */
  riding = false
  /** The turn whose `others` list holds it. */
  listedIn: ChannelTurn | null = null
  #buffer: PreparedPublication[] | null = []

  constructor(session: Session, channel: ChannelState) {
    this.session = session
    this.channel = channel
  }

  /** Queues a publication for the session, or buffers it while the subscription is not live. */
  deliver(pub: PreparedPublication, turn: ChannelTurn | null = null): void {
    if (!this.live) {
      const buffer = this.#buffer
      // Past the bound the publication is left out; the offset hole becomes a gap marker.
      if (buffer !== null && buffer.length < this.session.owner.limits.maxRecoveryBuffer) {
        buffer.push(pub)
      } else this.session.owner.stats.limitDropped++
      return
    }
    const offset = pub.offset
    if (pub.epoch !== this.epoch) {
      // The stream was replaced (history lost: a broker restarted empty, keys evicted). What
      // followed the old position is gone, and the client must hear it: the gap below names the
      // new epoch, even when the new stream starts at offset 1 (then `count` is 0).
      this.epoch = pub.epoch
      this.offset = 0
      if (offset === 1) {
        this.session.owner.stats.gaps++
        this.session.send({
          type: 'gap',
          channel: this.channel.name,
          epoch: pub.epoch,
          from: 1,
          to: 0,
          count: 0,
        })
      }
    }
    if (offset <= this.offset) return
    if (offset > this.offset + 1) {
      // A delivery lost on its way from the broker: the marker goes in line, before this one.
      const from = this.offset + 1
      const to = offset - 1
      this.session.owner.stats.gaps++
      this.session.send({
        type: 'gap',
        channel: this.channel.name,
        epoch: pub.epoch,
        from,
        to,
        count: to - from + 1,
      })
    }
    this.offset = offset
    this.session.enqueuePublication(pub.frame(this.session.format), this, turn)
  }

  /**
   * Marks the subscription live at position (`offset`, `epoch`), then delivers `recovered`
   * publications (server-side subscribe sends them as pushes) and what was buffered meanwhile;
   * anything at or below the position reached is skipped, so nothing repeats.
   */
  goLive(offset: number, epoch: string, recovered: readonly Publication[] = []): void {
    this.offset = offset
    this.epoch = epoch
    this.live = true
    // The subscribe push before them names the epoch.
    const fields = pushFields(false, this.channel.ns.timestamps)
    for (const pub of recovered)
      this.deliver(new PreparedPublication(this.channel.name, pub, epoch, fields))
    const buffer = this.#buffer
    this.#buffer = null
    if (buffer !== null) for (const pub of buffer) this.deliver(pub)
  }
}
