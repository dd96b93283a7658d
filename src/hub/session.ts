import {
  type ClientCommand,
  type ClientInfo,
  checkCommand,
  DisconnectCode,
  type GapPush,
  ProtocolDecodeError,
  type Reply,
  type ReplyError,
  type ServerMessage,
} from '../protocol/index.ts'
import type { HttpRequestInfo, Identity } from './auth.ts'
import type { ChannelTurn, Subscription } from './channel-state.ts'
import type { HubStats } from './hub-options.ts'
import type { RateBuckets } from './limits.ts'
import { type DropPolicy, Outbox } from './outbox.ts'
import { newSessionId } from './session-id.ts'
import { SubscriptionMap } from './subscription-map.ts'
import type { Frame, FrameSink, Transport, WireFormat } from './transport.ts'

/** Session states. */
export const CONNECTING = 0
export const CONNECTED = 1
export const CLOSED = 2

/** Limits a hub applies to every session (resolved once from the hub options). */
export interface SessionLimits {
  readonly maxOutboxBytes: number
  readonly maxCommandBytes: number
  readonly maxSubscriptions: number
  readonly maxRecoveryBuffer: number
  readonly maxInflight: number
}

/** What a session needs from its hub (the hub implements it; tests may fake it). */
export interface SessionOwner {
  readonly limits: SessionLimits
  readonly stats: HubStats
  scheduleFlush(session: Session): void
  dispatch(session: Session, command: ClientCommand): void
  disconnectSession(session: Session, code: number, reason: string): void
  /** Ends a session for a protocol error once the replies it owes are written. */
  endAfterReplies(session: Session, code: number, reason: string): void
  sessionClosed(session: Session): void
}

interface GapRange {
  epoch: string
  from: number
  to: number
  count: number
}

/**
 * A connection that speaks the channel protocol — over a WebSocket or an SSE stream alike.
 * Transports call `receive` with each inbound message, `drain` when they can take writes again,
 * and `closed` when the connection is gone.
 *
 * @example
 * const session = hub.connect(transport)   // a WebSocket that negotiated switchboard.v1.json
 * conn.on('message', (data) => session.receive(data))
 * conn.on('drain', () => session.drain())
 * conn.on('close', () => session.closed())
 */
export class Session implements DropPolicy {
  // The fields every delivery reads come first, so they share the object's first cache line:
  // with thousands of subscribers each delivery touches a different session, and a second
  // line per session was a measurable part of fan-out.
  state: number = CONNECTING
  readonly owner: SessionOwner
  readonly transport: Transport
  readonly format: WireFormat
  /** Made when a frame is first queued: a session that only follows channel turns never needs
   * one (see {@link outbox}). */
  #outbox: Outbox | null = null
  /** The transport said it is over its high-water mark. */
  blocked = false
  /** Queued for the next flush. Outbox frames or gap markers wait only while this or `blocked`
   * is set, so a session with neither has nothing queued. */
  dirty = false
  /** The transport's connection, when it reports the bytes it holds (`Transport.connection`). */
  readonly #sink: FrameSink | null
  /** The channel turn this session follows: publications `[#followFrom, #followEnd)` of it are
   * its queued frames, `#followBytes` long with what the connection held when it started; only
   * for transports with `sharedBatches`. */
  #follow: ChannelTurn | null = null
  #followFrom = 0
  #followEnd = 0
  #followBytes = 0
  /** Riding `#follow` (its end is the turn's `rideEnd`) for the subscription `#followSub`;
   * `#followBytes` is then what the connection held and `#followCum` the turn's ridden bytes
   * when it joined. */
  #riding = false
  #followSub: Subscription | null = null
  #followCum = 0
  readonly #followable: boolean
  #gaps: Map<string, GapRange> | null = null
  /** Connection id, unique across nodes. */
  readonly id: string
  /** Authenticated user id ('' until connected, or anonymous). */
  user = ''
  /** Connect-time info. */
  info: unknown = undefined
  /** When the credential expires (ms), 0 for never. */
  expiresAt = 0
  /** When an unconnected session is closed (ms). */
  connectDeadline = 0
  /** True while a connect command is being authenticated. */
  connecting = false
  /** Identity established at the upgrade, used by a `connect` without a token. */
  upgradeIdentity: Identity | null = null
  /** The upgrade request, given to the connect hook; dropped once `connect` has run. */
  upgradeRequest: HttpRequestInfo | null = null
  /** The IP address the connection came from, when the endpoint admitted it by address. */
  address: string | null = null
  /** Publish and rpc rate buckets, made on the first publish or call. */
  buckets: RateBuckets | null = null
  /** Set by a protocol error: the session reads nothing more, and is disconnected with this
   * code once the commands it had already received are answered (or at `closeDeadline`). */
  closing: { readonly code: number; readonly reason: string; readonly deadline: number } | null =
    null
  /** Commands being processed (bounded by `maxInflight`). */
  inflight = 0
  /** Commands received while `connect` was in flight, run after it. */
  pending: ClientCommand[] | null = null
  /** Subscriptions by channel (a Map's reading API; no Map for a session of one channel). */
  readonly subs = new SubscriptionMap()
  /** Publications dropped by the slow-consumer policy. */
  dropped = 0
  #clientInfo: ClientInfo | null = null

  constructor(owner: SessionOwner, transport: Transport, id?: string) {
    this.owner = owner
    this.transport = transport
    this.format = transport.format
    this.#sink = transport.connection ?? null
    this.#followable = transport.sharedBatches === true
    // Unique across the nodes of a cluster without coordination, and unguessable.
    this.id = id ?? newSessionId()
  }

  /** Frames waiting for the next flush. */
  get outbox(): Outbox {
    this.#outbox ??= new Outbox()
    return this.#outbox
  }

  /** Whether the session has ended. */
  get isClosed(): boolean {
    return this.state === CLOSED
  }

  /** Who this session is, as shown in presence, join/leave and publications. */
  get clientInfo(): ClientInfo {
    this.#clientInfo ??= {
      user: this.user,
      client: this.id,
      ...(this.info === undefined ? null : { info: this.info }),
    }
    return this.#clientInfo
  }

  /** Sets the identity once `connect` succeeded. */
  identify(user: string, info: unknown, expiresAt: number): void {
    this.user = user
    this.info = info
    this.expiresAt = expiresAt
    this.#clientInfo = null
    this.state = CONNECTED
  }

  /** Feeds one inbound message (a WebSocket text or binary message). */
  receive(data: string | Uint8Array): void {
    if (this.state === CLOSED || this.closing !== null) return
    const size = typeof data === 'string' ? data.length : data.byteLength
    if (size > this.owner.limits.maxCommandBytes) {
      this.owner.endAfterReplies(this, DisconnectCode.MESSAGE_TOO_LARGE, 'command too large')
      return
    }
    let command: ClientCommand
    try {
      command = checkCommand(this.format.codec.decode(data))
    } catch (err) {
      const reason = err instanceof ProtocolDecodeError ? err.message : 'bad command'
      this.owner.endAfterReplies(this, DisconnectCode.BAD_REQUEST, reason)
      return
    }
    this.owner.dispatch(this, command)
  }

  /** The transport can take writes again. */
  drain(): void {
    if (!this.blocked) return
    this.blocked = false
    if ((this.#outbox !== null && this.#outbox.length > 0) || this.#gaps !== null) this.#markDirty()
  }

  /** The transport is gone (peer closed, network error). */
  closed(): void {
    if (this.state === CLOSED) return
    this.owner.sessionClosed(this)
  }

  /** Queues a reply. */
  reply(id: number, result: unknown): void {
    this.send({ id, result } as Reply)
  }

  /** Queues an error reply. */
  replyError(id: number, error: ReplyError): void {
    this.send({ id, error })
  }

  /** Queues a message that no policy may drop (replies, pushes other than publications). */
  send(message: ServerMessage): void {
    this.enqueue(this.format.prepare(message))
  }

  /** Queues a prepared non-droppable frame; a session that lets them pile up past twice the
   * outbox limit is disconnected as a slow consumer, so memory stays bounded. */
  enqueue(frame: Frame): void {
    if (this.state === CLOSED) return
    if (this.#follow !== null) this.#unfollow()
    if (this.#outbox !== null && this.#outbox.bytes > this.owner.limits.maxOutboxBytes * 2) {
      this.discard() // what it holds is not written: the disconnect push goes alone
      this.owner.disconnectSession(this, DisconnectCode.SLOW_CONSUMER, 'slow consumer')
      return
    }
    this.outbox.push(frame)
    this.#markDirty()
  }

  /** Queues a publication frame, applying the channel's slow-consumer policy when over limit. */
  enqueuePublication(frame: Frame, sub: Subscription, turn: ChannelTurn | null = null): void {
    if (this.state === CLOSED) return
    const limit = this.owner.limits.maxOutboxBytes
    if (turn !== null && this.#followable) {
      // The registry appended this publication to `turn` just before handing it out.
      const at = turn.pubs.length - 1
      if (this.#follow === turn) {
        if (at === this.#followEnd && this.#followBytes + frame.byteLength <= limit) {
          this.#followEnd = at + 1
          this.#followBytes += frame.byteLength
          this.owner.stats.delivered++
          return
        }
      } else if (this.#follow === null && !this.blocked && !this.dirty) {
        // Bytes the connection still holds count against the limit.
        const held = this.#sink === null ? 0 : this.#sink.bufferedAmount
        if (held + frame.byteLength <= limit) {
          this.#follow = turn
          this.#followFrom = at
          this.#followSub = sub
          if (turn.riding) {
            this.#riding = true
            sub.riding = true
            this.#followBytes = held
            this.#followCum = turn.join(this, this.format, frame, held, limit)
          } else {
            this.#followEnd = at + 1
            this.#followBytes = held + frame.byteLength
          }
          this.owner.stats.delivered++
          this.#markDirty()
          return
        }
      }
    }
    if (this.#follow !== null) this.#unfollow()
    const outbox = this.outbox
    const policy = sub.channel.ns.slowConsumer
    if (policy === 'conflate' && frame.key !== undefined) {
      if (this.blocked || outbox.bytes + frame.byteLength > limit) {
        const old = outbox.takeConflated(sub.channel.name, frame.key)
        if (old !== null) {
          this.owner.stats.conflated++
          this.#dropped(old)
        }
      }
    }
    if (outbox.bytes + frame.byteLength > limit) {
      if (policy === 'disconnect') {
        // This publication and every queued one are lost to this connection (it resumes with since).
        this.#countDrop(1 + outbox.publications)
        this.discard()
        this.owner.disconnectSession(this, DisconnectCode.SLOW_CONSUMER, 'slow consumer')
        return
      }
      while (outbox.bytes + frame.byteLength > limit) {
        const old = outbox.dropOldest(this)
        if (old === null) break
        this.#dropped(old)
      }
      if (outbox.bytes + frame.byteLength > limit) {
        this.#dropped(frame)
        return
      }
    }
    outbox.push(frame)
    this.owner.stats.delivered++
    this.#markDirty()
  }

  /** Part of {@link DropPolicy}: publications of channels whose policy is not `disconnect`. */
  droppable(frame: Frame): boolean {
    if (!frame.publication || frame.channel === undefined) return false
    const sub = this.subs.get(frame.channel)
    return sub === undefined || sub.channel.ns.slowConsumer !== 'disconnect'
  }

  /** Records that offsets `from..to` of `channel`, dropped from the outbox by the slow-consumer
   * policy, will not reach this session. Drops take the oldest queued publications, so the
   * coalesced marker is written at the head of the next batch, before what follows the range. */
  noteGap(channel: string, epoch: string, from: number, to: number, count = to - from + 1): void {
    // The marker goes before what is queued: what the session follows must be queued first.
    if (this.#follow !== null) this.#unfollow()
    this.#gaps ??= new Map()
    const g = this.#gaps.get(channel)
    if (g === undefined || g.epoch !== epoch) {
      this.#gaps.set(channel, { epoch, from, to, count })
    } else {
      if (from < g.from) g.from = from
      if (to > g.to) g.to = to
      g.count += count
    }
    this.#markDirty()
  }

  /** Writes everything queued in one batch: gap markers first, then the frames in order. */
  flush(): void {
    this.dirty = false
    const follow = this.#follow
    if (follow !== null) {
      if (this.state === CLOSED || this.blocked) {
        this.#unfollow() // kept in the outbox until the session can write again
        return
      }
      // While following nothing else is queued: the turn's shared frames are the whole batch.
      if (this.#riding) this.#endRide(true)
      this.#follow = null
      this.#followSub = null
      const frames = follow.frames(this.format, this.#followFrom, this.#followEnd)
      if (!this.transport.write(frames)) this.blocked = true
      return
    }
    if (this.state === CLOSED || this.blocked) return
    let frames: Frame[]
    const gaps = this.#gaps
    if (gaps !== null) {
      this.#gaps = null
      frames = []
      for (const [channel, g] of gaps) {
        const push: GapPush = {
          type: 'gap',
          channel,
          epoch: g.epoch,
          from: g.from,
          to: g.to,
          count: g.count,
        }
        frames.push(this.format.prepare(push))
        this.owner.stats.gaps++
      }
      if (this.#outbox !== null) for (const f of this.#take(this.#outbox)) frames.push(f)
    } else {
      const outbox = this.#outbox
      if (outbox === null || outbox.length === 0) return
      frames = this.#take(outbox)
    }
    if (!this.transport.write(frames)) this.blocked = true
  }

  /** Empties the outbox for a flush. One that held no publication (replies and pushes: what
   * connecting and subscribing queue) is let go, so an idle session keeps none; one that
   * carried publications is kept for the turns that follow. */
  #take(outbox: Outbox): Frame[] {
    if (outbox.publications === 0) this.#outbox = null
    return outbox.take()
  }

  /** Forgets queued frames and gap markers (the session is being closed). */
  discard(): void {
    this.#outbox?.clear()
    this.#gaps = null
    if (this.#riding) this.#endRide(false)
    this.#follow = null
    this.#followSub = null
  }

  /** @internal the turn's ride ended: this rider becomes a follower of what it rode. */
  settleRide(turn: ChannelTurn): void {
    if (this.#riding && this.#follow === turn) this.#endRide(false)
  }

  /** @internal `sub` is ending: if this session rides for it, the ride stops where it is. */
  leaveRide(sub: Subscription): void {
    if (this.#riding && this.#followSub === sub) this.#endRide(false)
  }

  /** Stops riding: the follow ends at the turn's `rideEnd`; with `relist`, later publications
   * of a turn that still rides reach the subscription one by one. */
  #endRide(relist: boolean): void {
    const turn = this.#follow!
    const sub = this.#followSub!
    const end = turn.rideEnd
    this.#riding = false
    sub.riding = false
    turn.riders--
    this.#followEnd = end
    this.#followBytes += turn.rode(this.format) - this.#followCum
    sub.offset = turn.pubs[end - 1]!.offset
    // A turn that is over (its channel started another, or none) takes no more publications.
    if (relist && turn.riding && sub.active && sub.listedIn !== turn && sub.channel.turn === turn) {
      sub.listedIn = turn
      turn.others.push(sub)
    }
  }

  /** Stops following the channel turn: its frames join the outbox, in order, ahead of anything
   * queued after this. */
  #unfollow(): void {
    const follow = this.#follow!
    if (this.#riding) this.#endRide(true)
    this.#follow = null
    this.#followSub = null
    const frames = follow.frames(this.format, this.#followFrom, this.#followEnd)
    for (let i = 0; i < frames.length; i++) this.outbox.push(frames[i]!)
  }

  #dropped(frame: Frame): void {
    this.#countDrop(1)
    const channel = frame.channel
    if (channel === undefined || frame.offset === undefined || !this.subs.has(channel)) return
    this.noteGap(channel, frame.epoch ?? '', frame.offset, frame.offset, 1)
  }

  #countDrop(n: number): void {
    this.dropped += n
    this.owner.stats.dropped += n
  }

  #markDirty(): void {
    if (!this.dirty) {
      this.dirty = true
      this.owner.scheduleFlush(this)
    }
  }
}
