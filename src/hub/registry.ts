import type { TracedPublication } from '../broker/index.ts'
import { type Broker, isRecovered } from '../broker/index.ts'
import { SwitchboardError } from '../errors/index.ts'
import {
  DisconnectCode,
  type Publication,
  type StreamPosition,
  type SubscribeResult,
} from '../protocol/index.ts'
import { contextOf, SpanKind, startSpan } from '../tracing.ts'
import { ChannelState, ChannelTurn, Subscription } from './channel-state.ts'
import { afterWindow } from './flush-queue.ts'
import type { HubStats } from './hub-options.ts'
import type { Namespace } from './namespace.ts'
import {
  clientPublications,
  type PreparedMessage,
  PreparedPublication,
  pushFields,
} from './prepared.ts'
import { enterPresence, leavePresence } from './presence.ts'
import type { MetricsRecorder } from './recorder.ts'
import type { Report } from './report.ts'
import type { Session } from './session.ts'
import { turnEpochMs } from './turn-clock.ts'

/** A subscribe answer with the recovered publications it may carry. */
export type SubscribeAnswer = SubscribeResult & { publications?: readonly Publication[] }

/**
 * The channels of one node and their local subscriptions: subscribing (with recovery that joins
 * up with live delivery), unsubscribing, and fanning broker events out to subscribers. A channel
 * exists while it has a local subscriber; the first one asks the broker for the channel's live
 * events, the last one releases them.
 *
 * @example
 * const { sub, result } = await registry.subscribe(session, 'chat:a', ns, since)
 * session.reply(id, result)
 * sub.goLive(result.offset, result.epoch)
 */
export class ChannelRegistry {
  /** Resolves once the broker has started (set by the hub). */
  ready: Promise<void> = Promise.resolve()
  readonly #channels = new Map<string, ChannelState>()
  /** Channels that published in this write window, an event-loop turn unless the hub has a
   * `writeDelay` (their `turn` is reset at its end). */
  #turned: ChannelState[] = []
  readonly #broker: Broker
  readonly #onError: Report
  readonly #host: RegistryHost
  /** The hub's `writeDelay`: a channel's turn lasts the write window (see FlushQueue). */
  readonly #writeDelay: number

  constructor(broker: Broker, onError: Report, host: RegistryHost, writeDelay = 0) {
    this.#broker = broker
    this.#onError = onError
    this.#host = host
    this.#writeDelay = writeDelay
  }

  /** Channels with at least one local subscriber. */
  get size(): number {
    return this.#channels.size
  }

  /** Local subscribers of a channel. */
  subscriberCount(channel: string): number {
    return this.#channels.get(channel)?.subs.size ?? 0
  }

  /** Local subscriptions of every channel (counted when asked: metrics scrapes). */
  get subscriptionCount(): number {
    let n = 0
    for (const state of this.#channels.values()) n += state.subs.size
    return n
  }

  /**
   * Subscribes `session` and computes the answer; the caller queues the answer and then calls
   * `sub.goLive`, so live publications that raced with the subscribe follow it without repeats.
   * `check` (the authorization hook) runs before anything changes.
   */
  async subscribe(
    session: Session,
    channel: string,
    ns: Namespace,
    since: StreamPosition | undefined,
    check: (() => Promise<void>) | null,
  ): Promise<{ sub: Subscription; result: SubscribeAnswer }> {
    if (session.subs.has(channel)) fail('SWB_ERR_CHANNEL_ALREADY_SUBSCRIBED')
    if (session.subs.size >= session.owner.limits.maxSubscriptions) {
      this.#host.recorder.limitRefused('subscriptions')
      fail('SWB_ERR_CHANNEL_TOO_MANY_SUBSCRIPTIONS')
    }
    if (check !== null) await check()
    if (session.isClosed) fail('SWB_ERR_HUB_CLOSED', 'The session closed')
    if (session.subs.has(channel)) fail('SWB_ERR_CHANNEL_ALREADY_SUBSCRIBED')
    let state = this.#channels.get(channel)
    if (state === undefined) {
      state = new ChannelState(channel, ns)
      this.#channels.set(channel, state)
      state.ready = this.ready.then(() => this.#broker.subscribe(channel))
    }
    const sub = new Subscription(session, state)
    session.subs.set(channel, sub)
    state.subs.add(sub)
    if (state.turn?.riding) {
      // Subscribed while the channel's turn rides: later publications of it come one by one.
      sub.listedIn = state.turn
      state.turn.others.push(sub)
    }
    try {
      await state.ready
      const res = await this.#broker.history(
        channel,
        since === undefined ? { limit: 0 } : { since, limit: ns.recoveryLimit },
      )
      if (session.subs.get(channel) !== sub) {
        fail('SWB_ERR_CHANNEL_NOT_SUBSCRIBED', 'Unsubscribed while subscribing')
      }
      const recovered = since === undefined ? undefined : isRecovered(since, res)
      if (recovered !== undefined) {
        this.#host.recorder.recovery(recovered ? 'recovered' : 'not_recovered')
      }
      await enterPresence(this.#broker, ns, channel, session.clientInfo)
      return {
        sub,
        result: {
          offset: res.offset,
          epoch: res.epoch,
          recoverable: ns.history.size > 0,
          ...(recovered === undefined ? null : { recovered }),
          ...(recovered === true && res.publications.length > 0
            ? { publications: clientPublications(res.publications, ns.timestamps) }
            : null),
        },
      }
    } catch (err) {
      if (session.subs.get(channel) === sub) this.unsubscribe(session, channel, false)
      throw err
    }
  }

  /** Server-side subscribe: a `subscribe` push whose offset is where the following
   * `publication` pushes continue from, then the recovered publications one by one. `since`
   * null: the client claimed a position the server cannot read, so the channel starts fresh and
   * the push says `recovered: false`. */
  async serverSubscribe(
    session: Session,
    channel: string,
    ns: Namespace,
    since: StreamPosition | null | undefined,
  ): Promise<void> {
    const lost = since === null
    const { sub, result } = await this.subscribe(session, channel, ns, since ?? undefined, null)
    const pubs = result.publications ?? []
    const start = pubs.length > 0 ? since!.offset : result.offset
    session.send({
      type: 'subscribe',
      channel,
      offset: start,
      epoch: result.epoch,
      recoverable: result.recoverable,
      ...(lost ? { recovered: false } : null),
      ...(result.recovered === undefined ? null : { recovered: result.recovered }),
    })
    sub.goLive(start, result.epoch, pubs)
  }

  /** Ends a subscription; with `push`, tells the client (code 3504: do not resubscribe). */
  unsubscribe(session: Session, channel: string, push: boolean): void {
    const sub = session.subs.get(channel)
    if (sub === undefined) return
    session.subs.delete(channel)
    sub.active = false
    session.leaveRide(sub)
    const state = sub.channel
    state.subs.delete(sub)
    if (state.subs.size === 0 && this.#channels.get(channel) === state) {
      this.#channels.delete(channel)
      const ready = state.ready ?? Promise.resolve()
      ready
        .then(() => (this.#channels.has(channel) ? undefined : this.#broker.unsubscribe(channel)))
        .catch((err: unknown) => this.#onError(err, { channel, op: 'broker unsubscribe' }))
    }
    if (state.ns.presence) {
      leavePresence(this.#broker, state.ns, channel, session.clientInfo).catch((err: unknown) =>
        this.#onError(err, { session, channel, op: 'leave presence' }),
      )
    }
    if (push && !session.isClosed) {
      session.send({
        type: 'unsubscribe',
        channel,
        code: DisconnectCode.UNSUBSCRIBED,
        reason: 'unsubscribed by the server',
      })
    }
  }

  /** Fans a publication out: prepared once per wire format, queued to every subscriber. A
   * publication whose publish was traced gets a fan-out span, child of its broker span. */
  publish(channel: string, publication: Publication, epoch: string): void {
    const trace = (publication as TracedPublication).trace
    if (trace === undefined) {
      this.#fanOut(channel, publication, epoch)
      return
    }
    const span = startSpan('switchboard fan-out', SpanKind.CONSUMER, contextOf(trace))
    if (span === null) {
      this.#fanOut(channel, publication, epoch)
      return
    }
    try {
      this.#fanOut(channel, publication, epoch)
      span.setAttributes({
        'messaging.system': 'switchboard',
        'messaging.destination.name': channel,
        'switchboard.offset': publication.offset,
        'switchboard.subscribers': this.subscriberCount(channel),
      })
    } finally {
      span.end()
    }
  }

  #fanOut(channel: string, publication: Publication, epoch: string): void {
    const state = this.#channels.get(channel)
    if (state === undefined) return
    const host = this.#host
    host.stats.fannedOut++
    if (host.recorder.enabled && publication.time !== undefined) {
      host.recorder.fannedOut((turnEpochMs() - publication.time) / 1000)
    }
    const prepared = new PreparedPublication(
      channel,
      publication,
      epoch,
      pushFields(state.epoch !== epoch, state.ns.timestamps),
    )
    state.epoch = epoch
    let turn = state.turn
    if (turn === null) {
      turn = new ChannelTurn(state.subs)
      state.turn = turn
      this.#turned.push(state)
      if (this.#turned.length === 1) afterWindow(this.#writeDelay, endTurn, this)
      turn.pubs.push(prepared)
      turn.rideEnd = 1
      // The turn's first publication visits every subscription: those that can, start riding;
      // the rest are listed to be visited for each publication that follows. (`forEach`, not
      // for-of: optimized code still made an iterator result per subscription.)
      const others = turn.others
      const first = turn
      state.subs.forEach((sub) => {
        this.#deliver(sub, prepared, first)
        if (!sub.riding) {
          sub.listedIn = first
          others.push(sub)
        }
      })
      return
    }
    turn.pubs.push(prepared)
    if (turn.riding) {
      if (turn.extend(prepared)) {
        const others = turn.others
        for (let i = 0; i < others.length; i++) {
          const sub = others[i]!
          if (sub.active && !sub.riding) this.#deliver(sub, prepared, turn)
        }
        return
      }
      turn.settle()
    }
    const settled = turn
    state.subs.forEach((sub) => {
      this.#deliver(sub, prepared, settled)
    })
  }

  #deliver(sub: Subscription, prepared: PreparedPublication, turn: ChannelTurn): void {
    try {
      sub.deliver(prepared, turn)
    } catch (err) {
      // A value one wire format cannot carry must not stop delivery to everyone else.
      this.#onError(err, { session: sub.session, channel: prepared.channel, op: 'fan-out' })
      const pub = prepared.publication
      sub.session.noteGap(prepared.channel, prepared.epoch, pub.offset, pub.offset, 1)
    }
  }

  /** @internal the turn is over: the next publication of every channel starts a new one.
   * (Sessions following a turn keep it until their flush.) */
  endTurn(): void {
    const turned = this.#turned
    this.#turned = []
    for (let i = 0; i < turned.length; i++) turned[i]!.turn = null
  }

  /** Queues a join or leave push to the live subscribers of a channel whose namespace
   * announces them (a broker may announce a member that expired in any namespace). */
  pushJoinLeave(channel: string, prepared: PreparedMessage): void {
    const state = this.#channels.get(channel)
    if (state === undefined || !state.ns.joinLeave) return
    for (const sub of state.subs) {
      if (sub.live) sub.session.enqueue(prepared.frame(sub.session.format))
    }
  }
}

/** What the registry counts into: the hub's stats and its metrics recorder of the moment. */
export interface RegistryHost {
  readonly stats: HubStats
  readonly recorder: MetricsRecorder
}

function endTurn(registry: ChannelRegistry): void {
  registry.endTurn()
}

function fail(
  code:
    | 'SWB_ERR_CHANNEL_ALREADY_SUBSCRIBED'
    | 'SWB_ERR_CHANNEL_TOO_MANY_SUBSCRIPTIONS'
    | 'SWB_ERR_HUB_CLOSED'
    | 'SWB_ERR_CHANNEL_NOT_SUBSCRIBED',
  message?: string,
): never {
  throw new SwitchboardError(code, message)
}
