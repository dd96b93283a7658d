import type {
  ClientInfo,
  GapPush,
  HistoryResult,
  PresenceResult,
  PublicationPush,
  PublishResult,
  StreamPosition,
  SubscribeResult,
  UnsubscribePush,
} from '../protocol/messages.ts'
import { Emitter } from './emitter.ts'
import type { ClientError } from './errors.ts'

/** A subscription's states. */
export type SubscriptionState = 'unsubscribed' | 'subscribing' | 'subscribed'

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

/** One publication as the application receives it. */
export interface PublicationContext<T = unknown> {
  readonly channel: string
  readonly offset: number
  readonly epoch: string
  readonly data: T
  readonly info?: ClientInfo | undefined
  readonly key?: string | undefined
  /** When the broker stored it (ms since the Unix epoch): only in namespaces with `timestamps`. */
  readonly time?: number | undefined
  /** True when the publication was missed while disconnected and came back through recovery. */
  readonly recovered: boolean
}

/** A subscription became active. */
export interface SubscribedContext {
  readonly channel: string
  /** Whether `since` was sent (a resubscribe after a reconnect, or the `since` option). */
  readonly wasRecovering: boolean
  /** With `wasRecovering`: true when every missed publication was delivered, false when some
   * are gone (history trimmed, expired, or the stream's epoch changed). `undefined` otherwise. */
  readonly recovered: boolean | undefined
  /** Whether the channel keeps history (so a later resume can work). */
  readonly recoverable: boolean
  readonly offset: number
  readonly epoch: string
}

/**
 * Publications the application did not receive. `reason` is `'dropped'` when the server says so
 * with a `gap` push (slow-consumer drop, conflation, a cross-node delivery lost for good;
 * offsets `from`..`to`, `count` of them dropped) and `'unrecovered'` when what was missed cannot
 * be told by offsets: a resubscribe could not recover what was missed while disconnected, or the
 * stream was replaced under a live subscription (history lost on the server, for example Redis
 * restarted empty). `to`/`count` are `null` when the stream's epoch changed, because the old
 * offsets then mean nothing. Recover with `history` or treat the local state as stale.
 */
export interface GapContext {
  readonly channel: string
  readonly reason: 'dropped' | 'unrecovered'
  readonly epoch: string
  readonly from: number
  readonly to: number | null
  readonly count: number | null
}

/** A state change of a subscription. */
export interface SubscriptionStateEvent {
  readonly channel: string
  readonly state: SubscriptionState
  readonly previous: SubscriptionState
  readonly code: number
  readonly reason: string
}

/** Events of a {@link Subscription}. */
export interface SubscriptionEvents<T> {
  state: [SubscriptionStateEvent]
  subscribed: [SubscribedContext]
  publication: [PublicationContext<T>]
  join: [ClientInfo]
  leave: [ClientInfo]
  gap: [GapContext]
  error: [ClientError]
}

/** Callbacks and options of `client.subscribe`. */
export interface SubscribeOptions<T = unknown> {
  /** Resume from this position (a position the application stored earlier). */
  since?: StreamPosition
  onPublication?: (publication: PublicationContext<T>) => void
  onJoin?: (info: ClientInfo) => void
  onLeave?: (info: ClientInfo) => void
  onGap?: (gap: GapContext) => void
  onSubscribed?: (context: SubscribedContext) => void
  onState?: (event: SubscriptionStateEvent) => void
  onError?: (error: ClientError) => void
}

/** What a subscription asks of its client. */
export interface SubscriptionHost {
  _activate(sub: Subscription<unknown, unknown>): void
  _deactivate(sub: Subscription<unknown, unknown>): void
  publish(channel: string, data: unknown, options?: { key?: string }): Promise<PublishResult>
  presence(channel: string): Promise<PresenceResult>
  history(
    channel: string,
    options?: { since?: StreamPosition; limit?: number },
  ): Promise<HistoryResult>
}

/** Most live publications held while a (re)subscribe reply is awaited. */
const MAX_EARLY = 10_000

/**
 * One channel subscription. It keeps the position of the last publication it delivered, so after
 * a reconnect the client resubscribes with `since` and the server sends what was missed; offsets
 * at or below that position are dropped as duplicates, so the application sees every publication
 * once, in order.
 *
 * @example
 * const sub = client.subscribe('chat:lobby', { onPublication: (p) => render(p.data) })
 * sub.on('gap', (g) => reload(g.channel))
 * await sub.publish({ text: 'hi' })
 * sub.unsubscribe()
 */
export class Subscription<T = unknown, P = unknown> extends Emitter<SubscriptionEvents<T>> {
  readonly channel: string
  #state: SubscriptionState = 'unsubscribed'
  #host: SubscriptionHost
  #position: StreamPosition | null
  #recoverable = false
  /** The `since` of the subscribe in flight (set by the client when it sends one). */
  _sentSince: StreamPosition | undefined
  #early: PublicationPush[] | null = null

  constructor(host: SubscriptionHost, channel: string, options: SubscribeOptions<T> = {}) {
    super()
    this.#host = host
    this.channel = channel
    this.#position = options.since ?? null
    if (options.onPublication) this.on('publication', options.onPublication)
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

  /** @internal The `since` a (re)subscribe should send. */
  _since(): StreamPosition | undefined {
    return this.#position ?? undefined
  }

  /** @internal */
  _setState(state: SubscriptionState, code: number, reason: string): void {
    const previous = this.#state
    if (previous === state) return
    this.#state = state
    this.#early = state === 'subscribing' ? [] : null
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
    this._setState('subscribed', SubscriptionCode.SUBSCRIBED, 'subscribed')
    if (wasRecovering && !recovered) {
      const sameEpoch = since.epoch === result.epoch
      const from = since.offset + 1
      this.#position = { offset: result.offset, epoch: result.epoch }
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
    } else {
      this.emit('subscribed', this.#context(wasRecovering, recovered, result))
      for (const p of result.publications ?? []) this.#deliver(p, result.epoch, true)
      const pos = this.#position
      if (pos === null || pos.epoch !== result.epoch || pos.offset < result.offset) {
        this.#position = { offset: result.offset, epoch: result.epoch }
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
    this.#deliver(push, push.epoch ?? this.#position?.epoch ?? '', false)
  }

  #deliver(
    p: { offset: number; data: unknown; info?: ClientInfo; key?: string; time?: number },
    epoch: string,
    recovered: boolean,
  ): void {
    const pos = this.#position
    if (pos !== null && pos.epoch === epoch && p.offset <= pos.offset) return // duplicate
    this.#position = { offset: p.offset, epoch }
    this.emit('publication', {
      channel: this.channel,
      offset: p.offset,
      epoch,
      data: p.data as T,
      info: p.info,
      key: p.key,
      time: p.time,
      recovered,
    })
  }

  /** @internal */
  _onGap(push: GapPush): void {
    const pos = this.#position
    if (pos !== null && pos.epoch !== push.epoch) {
      // The stream was replaced (history lost on the server side): what followed our position
      // in the old epoch is gone, and what follows belongs to the new epoch, after the range.
      this.#position = { offset: push.from - 1, epoch: push.epoch }
      this.emit('gap', {
        channel: this.channel,
        reason: 'unrecovered',
        epoch: push.epoch,
        from: push.from,
        to: null,
        count: null,
      })
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
