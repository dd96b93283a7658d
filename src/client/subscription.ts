import type {
  ClientInfo,
  GapPush,
  HistoryResult,
  PresenceResult,
  Publication,
  PublicationPush,
  PublishResult,
  StreamPosition,
  SubscribeResult,
  UnsubscribePush,
} from '../protocol/messages.ts'
import { Emitter } from './emitter.ts'
import { ClientError, ClientErrorCode } from './errors.ts'
import type {
  PublicationContext,
  ResetContext,
  SubscribedContext,
  SubscribeOptions,
  SubscriptionEvents,
  SubscriptionHost,
  SubscriptionState,
} from './subscription-types.ts'

export type {
  GapContext,
  PublicationContext,
  ResetContext,
  SubscribedContext,
  SubscribeOptions,
  SubscriptionEvents,
  SubscriptionHost,
  SubscriptionState,
  SubscriptionStateEvent,
} from './subscription-types.ts'

/**
 * Codes of subscription state changes made by the client. A change caused by the server carries
 * the server's code instead (an `unsubscribe` push's code, a close code).
 */
export const SubscriptionCode = {
  /** `subscribe()` was called, or the subscription was created. */
  SUBSCRIBE_CALLED: 1,
  /** `unsubscribe()` was called. */
  UNSUBSCRIBE_CALLED: 2,
  /** The connection was lost; the subscription is restored (with `since`) on reconnect. */
  TRANSPORT_LOST: 3,
  /** The server answered the subscribe command with an error. */
  SUBSCRIBE_ERROR: 4,
  /** The server accepted the subscription. */
  SUBSCRIBED: 0,
} as const

/** Most live publications held while a (re)subscribe reply or a history read is awaited. */
const MAX_EARLY = 10_000
/** History reads of one start or reset that may find the stream replaced before one answers. */
const MAX_READS = 3

/** A publication held while the history read of a start or reset is in flight. */
interface Held {
  readonly p: Publication
  /** The epoch it names (`undefined`: the one followed when it is delivered). */
  readonly epoch: string | undefined
  readonly recovered: boolean
}

/**
 * A history read in flight: the history start (`'initial'`) or a reset. Live publications are
 * held meanwhile and delivered after the read, deduplicated by offset.
 */
interface Load {
  readonly kind: 'initial' | ResetContext['reason']
  /** Where the live stream continues: the read covers publications up to here. */
  anchor: StreamPosition
  held: Held[]
  reads: number
  /** Publications asked for: `history.limit`, or what the server allowed. */
  limit: number
}

/**
 * One channel subscription. It keeps the position of the last publication it delivered, so after
 * a reconnect the client resubscribes with `since` and the server sends what was missed; offsets
 * at or below that position are dropped as duplicates, so the application sees every publication
 * once, in order. With `history`, it starts with the channel's recent publications, and when
 * continuity is lost for good it emits one `reset` carrying a fresh read of them.
 *
 * @example
 * const sub = client.subscribe('chat:lobby', {
 *   history: { limit: 50 },
 *   onPublication: (p) => messages.push(p.data),
 *   onReset: (r) => messages.splice(0, Infinity, ...r.publications.map((p) => p.data)),
 * })
 * await sub.publish({ text: 'hi' })
 * sub.unsubscribe()
 */
export class Subscription<T = unknown, P = unknown> extends Emitter<SubscriptionEvents<T>> {
  readonly channel: string
  #state: SubscriptionState = 'unsubscribed'
  #host: SubscriptionHost
  #position: StreamPosition | null
  #recoverable = false
  readonly #historyLimit: number
  /** The `since` of the subscribe in flight (set by the client when it sends one). */
  _sentSince: StreamPosition | undefined
  #early: PublicationPush[] | null = null
  #load: Load | null = null

  constructor(host: SubscriptionHost, channel: string, options: SubscribeOptions<T> = {}) {
    super()
    this.#host = host
    this.channel = channel
    this.#position = options.since ?? null
    this.#historyLimit = historyLimit(options.history)
    if (options.onPublication) this.on('publication', options.onPublication)
    if (options.onReset) this.on('reset', options.onReset)
    if (options.onJoin) this.on('join', options.onJoin)
    if (options.onLeave) this.on('leave', options.onLeave)
    if (options.onGap) this.on('gap', options.onGap)
    if (options.onSubscribed) this.on('subscribed', options.onSubscribed)
    if (options.onState) this.on('state', options.onState)
    if (options.onError) this.on('error', options.onError)
  }

  /** Current state. */
  get state(): SubscriptionState {
    return this.#state
  }

  /** Position of the last publication delivered (what a resubscribe sends as `since`). */
  get position(): StreamPosition | null {
    return this.#position
  }

  /** Starts (or restarts) the subscription; it goes live when the client is connected. */
  subscribe(): void {
    if (this.#state !== 'unsubscribed') return
    this._setState('subscribing', SubscriptionCode.SUBSCRIBE_CALLED, 'subscribe called')
    this.#host._activate(this as Subscription<unknown, unknown>)
  }

  /** Ends the subscription (the position is kept, so `subscribe()` later resumes from it). */
  unsubscribe(): void {
    if (this.#state === 'unsubscribed') return
    this._setState('unsubscribed', SubscriptionCode.UNSUBSCRIBE_CALLED, 'unsubscribe called')
    this.#host._deactivate(this as Subscription<unknown, unknown>)
  }

  /** Publishes to this channel (see `client.publish`). */
  publish(data: P, options?: { key?: string }): Promise<PublishResult> {
    return this.#host.publish(this.channel, data, options)
  }

  /** Who is subscribed to this channel. */
  presence(): Promise<PresenceResult> {
    return this.#host.presence(this.channel)
  }

  /** Publications kept by the server for this channel. */
  history(options?: { since?: StreamPosition; limit?: number }): Promise<HistoryResult> {
    return this.#host.history(this.channel, options)
  }

  /** @internal The `since` a (re)subscribe should send: during a history read, where the live
   * stream continues after it (what lies before is being read). */
  _since(): StreamPosition | undefined {
    return this.#load?.anchor ?? this.#position ?? undefined
  }

  /** @internal */
  _setState(state: SubscriptionState, code: number, reason: string): void {
    const previous = this.#state
    if (previous === state) return
    this.#state = state
    this.#early = state === 'subscribing' ? [] : null
    // An unsubscribed subscription reads nothing more; `subscribe()` starts over from the
    // position delivered last (none: the history start again).
    if (state === 'unsubscribed') this.#load = null
    this.emit('state', { channel: this.channel, state, previous, code, reason })
  }

  /** @internal The subscribe reply (or an SSE `subscribe` push) arrived. */
  _onSubscribed(result: SubscribeResult): void {
    if (this.#state === 'unsubscribed') return
    const since = this._sentSince
    this._sentSince = undefined
    const early = this.#early ?? []
    this.#recoverable = result.recoverable
    const wasRecovering = since !== undefined
    const recovered = wasRecovering ? result.recovered === true : undefined
    const top = { offset: result.offset, epoch: result.epoch }
    this._setState('subscribed', SubscriptionCode.SUBSCRIBED, 'subscribed')
    if (wasRecovering && !recovered) {
      const sameEpoch = since.epoch === result.epoch
      const from = since.offset + 1
      this.emit('subscribed', this.#context(true, false, result))
      if (!sameEpoch || result.offset >= from) {
        this.emit('gap', {
          channel: this.channel,
          reason: 'unrecovered',
          epoch: since.epoch,
          from,
          to: sameEpoch ? result.offset : null,
          count: sameEpoch ? result.offset - since.offset : null,
        })
      }
      this.#lost(sameEpoch ? 'unrecovered' : 'epoch-changed', top)
    } else {
      this.emit('subscribed', this.#context(wasRecovering, recovered, result))
      if (!wasRecovering && this.#historyLimit > 0 && result.recoverable) {
        this.#read('initial', top)
      } else {
        for (const p of result.publications ?? []) this.#offer(p, result.epoch, true)
        const pos = this.#position
        const stale = pos === null || pos.epoch !== result.epoch || pos.offset < result.offset
        if (this.#load === null && stale) this.#position = top
      }
    }
    for (const p of early) this._onPublication(p)
  }

  #context(
    wasRecovering: boolean,
    recovered: boolean | undefined,
    r: SubscribeResult,
  ): SubscribedContext {
    return {
      channel: this.channel,
      wasRecovering,
      recovered,
      recoverable: r.recoverable,
      offset: r.offset,
      epoch: r.epoch,
    }
  }

  /** @internal A live publication. */
  _onPublication(push: PublicationPush): void {
    if (this.#state === 'subscribing') {
      if (this.#early !== null && this.#early.length < MAX_EARLY) this.#early.push(push)
      return
    }
    if (this.#state !== 'subscribed') return
    // A push names its epoch only when it may be news; otherwise it is the one we follow.
    this.#offer(push, push.epoch, false)
  }

  /** Delivers a publication, or holds it while a history read is in flight. */
  #offer(p: Publication, epoch: string | undefined, recovered: boolean): void {
    const load = this.#load
    if (load === null) {
      this.#deliver(p, epoch ?? this.#position?.epoch ?? '', recovered)
      return
    }
    if (load.held.length < MAX_EARLY) {
      load.held.push({ p, epoch, recovered })
      return
    }
    // Too much arrived during the read: read again up to this publication, drop what was held.
    this.#read(load.kind, { offset: p.offset, epoch: epoch ?? load.anchor.epoch })
  }

  /** Emits a publication unless it was delivered already; returns it (or null: a duplicate). */
  #deliver(
    p: Publication,
    epoch: string,
    recovered: boolean,
    emit = true,
  ): PublicationContext<T> | null {
    const pos = this.#position
    if (pos !== null && pos.epoch === epoch && p.offset <= pos.offset) return null // duplicate
    this.#position = { offset: p.offset, epoch }
    const context: PublicationContext<T> = {
      channel: this.channel,
      offset: p.offset,
      epoch,
      data: p.data as T,
      info: p.info,
      key: p.key,
      time: p.time,
      recovered,
    }
    if (emit) this.emit('publication', context)
    return context
  }

  /**
   * Continuity is lost for good; the live stream continues after `top`. With `history`, a fresh
   * read of the recent publications up to `top` goes out, and the reset carries it; without, the
   * reset is emitted now with no publications and the stream resumes at `resume`.
   */
  #lost(reason: ResetContext['reason'], top: StreamPosition, resume = top): void {
    if (this.#historyLimit > 0 && this.#recoverable) {
      // Nothing reached the application yet: the start it waits for is still a start.
      this.#read(this.#load?.kind === 'initial' ? 'initial' : reason, top)
      return
    }
    this.#load = null
    this.#position = resume
    this.emit('reset', { channel: this.channel, reason, publications: [] })
  }

  /** Reads the `limit` publications up to `anchor`, holding live ones meanwhile (in `held`). */
  #read(
    kind: Load['kind'],
    anchor: StreamPosition,
    reads = 1,
    limit = this.#historyLimit,
    held: Held[] = [],
  ): void {
    const load: Load = { kind, anchor, held, reads, limit }
    this.#load = load
    const since = { offset: Math.max(0, anchor.offset - limit), epoch: anchor.epoch }
    this.#host.history(this.channel, { since, limit }).then(
      (r) => this.#onRead(load, since, r),
      (error: unknown) => {
        if (this.#load !== load) return
        if (error instanceof ClientError && error.code === ClientErrorCode.CLOSED) {
          this.#load = null // the client stopped; the next connect starts over
          return
        }
        this.emit('error', error as ClientError)
        const empty = { offset: anchor.offset, epoch: anchor.epoch, publications: [] }
        this.#onRead(load, since, empty)
      },
    )
  }

  #onRead(load: Load, since: StreamPosition, r: HistoryResult): void {
    if (this.#load !== load) return
    if (r.epoch !== since.epoch && load.reads < MAX_READS) {
      // The stream was replaced between the subscribe answer and this read: read the new one.
      const kind = load.kind === 'initial' ? 'initial' : 'epoch-changed'
      this.#read(kind, { offset: r.offset, epoch: r.epoch }, load.reads + 1)
      return
    }
    const last = r.publications.at(-1)
    const capped =
      r.epoch === since.epoch &&
      last !== undefined &&
      last.offset < load.anchor.offset &&
      r.publications.length < load.limit
    if (capped && load.reads < MAX_READS) {
      // The server capped the read (its `maxHistoryLimit`) short of where the live stream
      // continues: read the most recent ones it allows instead, keeping what was held.
      const n = r.publications.length
      this.#read(load.kind, load.anchor, load.reads + 1, n, load.held)
      return
    }
    this.#load = null
    const fresh: PublicationContext<T>[] = []
    this.#position = since
    if (r.epoch === since.epoch) {
      for (const p of r.publications) {
        const context = this.#deliver(p, since.epoch, true, load.kind === 'initial')
        if (context !== null) fresh.push(context)
      }
    }
    const pos = this.#position
    if (pos.epoch !== load.anchor.epoch || pos.offset < load.anchor.offset) {
      this.#position = load.anchor
    }
    if (load.kind !== 'initial') {
      this.emit('reset', { channel: this.channel, reason: load.kind, publications: fresh })
    }
    for (const h of load.held) {
      // A reset emitted above may have started another read: later ones wait for it.
      this.#offer(h.p, h.epoch, h.recovered)
    }
  }

  /** @internal */
  _onGap(push: GapPush): void {
    const pos = this.#load?.anchor ?? this.#position
    if (pos !== null && pos.epoch !== push.epoch) {
      // The stream was replaced (history lost on the server side): what followed our position
      // in the old epoch is gone, and what follows belongs to the new epoch, after the range.
      // Without a read, the resume point is just before the range: under conflation, offsets
      // inside it may still arrive.
      const resume = { offset: push.from - 1, epoch: push.epoch }
      const top = { offset: Math.max(resume.offset, push.to), epoch: push.epoch }
      this.emit('gap', {
        channel: this.channel,
        reason: 'unrecovered',
        epoch: push.epoch,
        from: push.from,
        to: null,
        count: null,
      })
      this.#lost('epoch-changed', top, resume)
      return
    }
    this.emit('gap', {
      channel: this.channel,
      reason: 'dropped',
      epoch: push.epoch,
      from: push.from,
      to: push.to,
      count: push.count,
    })
    // With `history` the SDK refills its state; without, a drop (or conflation: the latest value
    // of each key still follows) is only reported.
    if (this.#historyLimit > 0 && this.#recoverable && (pos === null || push.to > pos.offset)) {
      this.#lost('dropped', { offset: push.to, epoch: push.epoch })
    }
  }

  /** @internal */
  _onJoin(info: ClientInfo): void {
    this.emit('join', info)
  }

  /** @internal */
  _onLeave(info: ClientInfo): void {
    this.emit('leave', info)
  }

  /** @internal The server refused the subscribe command. */
  _onError(error: ClientError): void {
    this._sentSince = undefined
    this._setState('unsubscribed', SubscriptionCode.SUBSCRIBE_ERROR, error.message)
    this.emit('error', error)
  }

  /** @internal The connection was lost. */
  _onTransportLost(code: number, reason: string): void {
    this._sentSince = undefined
    if (this.#state === 'subscribed') this._setState('subscribing', code, reason)
  }

  /** @internal The server ended this subscription; returns whether to subscribe again. */
  _onServerUnsubscribe(push: UnsubscribePush, resubscribe: boolean): void {
    this._sentSince = undefined
    if (resubscribe) this._setState('subscribing', push.code, push.reason)
    else this._setState('unsubscribed', push.code, push.reason)
  }
}

/** The `history.limit` option, validated (0: no history start). */
function historyLimit(history: SubscribeOptions['history']): number {
  if (history === undefined) return 0
  const limit = history?.limit
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) {
    throw new ClientError(
      ClientErrorCode.INVALID_OPTION,
      'subscribe: history.limit must be a positive integer',
    )
  }
  return limit
}
