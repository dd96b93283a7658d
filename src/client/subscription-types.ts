import type {
  ClientInfo,
  HistoryResult,
  PresenceResult,
  PublishResult,
  StreamPosition,
} from '../protocol/messages.ts'
import type { ClientError } from './errors.ts'
import type { Subscription } from './subscription.ts'

/** A subscription's states. */
export type SubscriptionState = 'unsubscribed' | 'subscribing' | 'subscribed'

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
  /** True when the publication came from the server's history rather than live: the history
   * start of `subscribe(channel, { history })`, or what a reconnect recovered. */
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
 * offsets then mean nothing. Informational: the {@link ResetContext} `reset` event is what an
 * application acts on.
 */
export interface GapContext {
  readonly channel: string
  readonly reason: 'dropped' | 'unrecovered'
  readonly epoch: string
  readonly from: number
  readonly to: number | null
  readonly count: number | null
}

/**
 * "Your state of this channel is stale: here is a fresh start." Emitted when the SDK cannot keep
 * the stream continuous: the server lost the channel's history (`'epoch-changed'`: a restart of
 * an in-memory broker, a Redis flush), what was missed while disconnected left the history window
 * (`'unrecovered'`), or, for a subscription with `history`, the server dropped publications for
 * this slow subscriber (`'dropped'`). Replace the channel's state with `publications` (oldest
 * first): with the `history` option they are the channel's most recent publications, re-read
 * from the server (up to `history.limit`); without it the list is empty and the application
 * reloads its state some other way (an rpc, a REST call). Live publications continue after them,
 * without duplicates.
 */
export interface ResetContext<T = unknown> {
  readonly channel: string
  readonly reason: 'epoch-changed' | 'unrecovered' | 'dropped'
  readonly publications: readonly PublicationContext<T>[]
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
  reset: [ResetContext<T>]
  join: [ClientInfo]
  leave: [ClientInfo]
  gap: [GapContext]
  error: [ClientError]
}

/** Callbacks and options of `client.subscribe`. */
export interface SubscribeOptions<T = unknown> {
  /**
   * Start with the channel's most recent publications: up to `limit` of them (oldest first, at
   * most the server's `maxHistoryLimit`, 1000 by default) are delivered through `onPublication`
   * before the live ones, and every `onReset` carries a fresh read of the same size. The
   * namespace must keep history (`historySize` > 0). `since`, when given, wins for the start.
   */
  history?: { readonly limit: number }
  /** Resume from this position (a position the application stored earlier). */
  since?: StreamPosition
  onPublication?: (publication: PublicationContext<T>) => void
  /** The one signal an application must handle: replace its state with `reset.publications`. */
  onReset?: (reset: ResetContext<T>) => void
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
