import type { ClientInfo, Publication, StreamPosition } from '../protocol/index.ts'

/**
 * The storage-and-delivery engine under the hub: per-channel streams with history, cross-node
 * live delivery, presence, and a control bus. The hub is written once against this interface;
 * a broker only carries bytes and keeps streams.
 *
 * ## Contract (every implementation; `test-utils/broker.case.ts` checks it)
 * 1. **Offsets are assigned atomically per channel together with the history append.** The
 *    n-th publication a channel ever accepts in an epoch has offset n (1, 2, 3…); two publishers
 *    racing on one channel never get the same offset, and history order is offset order.
 * 2. **Live delivery is at most once** and, per channel, in offset order: every node that called
 *    `subscribe(channel)` gets `onPublication` for each later publication once or not at all
 *    (a network partition may lose some). Loss shows up as an offset hole, which the hub turns
 *    into a gap marker; nothing is ever delivered twice or out of order.
 * 3. **Recovery is never partial.** `history(channel, { since })` returns publications in offset
 *    order, after `since.offset`, from the stream named by `since.epoch`; the hub accepts them only
 *    when they join up exactly with `since` and reach the top (`isRecovered`), so a client gets
 *    every missed publication or `recovered: false`.
 * 4. **The epoch changes whenever history is lost** (restart of a memory broker, a Redis key
 *    evicted or flushed, a JetStream stream recreated). Offsets restart only with a new epoch.
 * 5. **Idempotent publish**: within `idempotencyWindow`, a publish carrying an idempotency key
 *    already applied on that channel returns the first result with `duplicate: true` and stores
 *    and delivers nothing.
 *
 * ## How the adapters implement it (over clients the caller supplies)
 * - **Redis**: one Lua script per publish does `INCR` of the channel's offset key, `XADD` to the
 *   channel's stream with `MAXLEN ~ size` and `PEXPIRE ttl`, `SET NX PX` of the idempotency key,
 *   and `PUBLISH` of the encoded publication (offset included) on the channel's Pub/Sub topic — all
 *   atomic in Redis. The epoch is a random value stored beside the offset with the same expiry:
 *   if the keys vanish (eviction, `FLUSHALL`, expiry) the next publish creates a new epoch.
 *   `history` is `XRANGE` from `since.offset + 1`; `subscribe` is a Pub/Sub `SUBSCRIBE` (at most
 *   once by nature). Presence is a hash per channel plus a sorted set of expiry times, refreshed by
 *   each node; join/leave and control go over Pub/Sub topics.
 * - **NATS JetStream**: one stream per namespace with subjects `swb.<channel>`; the stream
 *   sequence per subject gives the offset (JetStream assigns it atomically on append, with
 *   `Nats-Msg-Id` deduplication for idempotency keys and `Nats-Expected-Last-Subject-Sequence`
 *   to keep per-channel offsets dense), `max_msgs_per_subject` and `max_age` bound history, and the
 *   stream's creation time plus name is the epoch. Live delivery is a core NATS subscription (at
 *   most once); presence is a KV bucket with per-key TTL.
 *
 * @example
 * const broker: Broker = new MemoryBroker()
 * await broker.start({ onPublication() {}, onJoin() {}, onLeave() {}, onControl() {} })
 * const { offset, epoch } = await broker.publish('chat:a', { text: 'hi' }, { history: { size: 100, ttl: 60_000 } })
 */
export interface Broker {
  /** Short name for logs ('memory', 'redis', 'nats'). */
  readonly name: string
  /** Starts the broker and sets where live events go. Called once by the hub. */
  start(handler: BrokerHandler): Promise<void>
  /** Stores (when `history.size > 0`) and delivers one publication; see the contract above. */
  publish(
    channel: string,
    data: unknown,
    options?: BrokerPublishOptions,
  ): Promise<BrokerPublishResult>
  /** Reads a channel's history (oldest first). `limit: 0` returns only the position. */
  history(channel: string, options?: BrokerHistoryOptions): Promise<BrokerHistoryResult>
  /** Forgets a channel's history; the next publish starts a new epoch. */
  removeHistory(channel: string): Promise<void>
  /** This node wants live `onPublication`/`onJoin`/`onLeave` events for `channel`. */
  subscribe(channel: string): Promise<void>
  /** This node no longer wants live events for `channel`. */
  unsubscribe(channel: string): Promise<void>
  /** Delivers a join event to every node subscribed to `channel`. */
  publishJoin(channel: string, info: ClientInfo): Promise<void>
  /** Delivers a leave event to every node subscribed to `channel`. */
  publishLeave(channel: string, info: ClientInfo): Promise<void>
  /** Delivers a control message to every node (sendToUser, disconnect, SSE refresh across the
   * cluster). */
  publishControl(message: ControlMessage): Promise<void>
  /** Adds or replaces (by `info.client`) a presence member of `channel`. */
  addPresence(channel: string, info: ClientInfo): Promise<void>
  /** Removes the member with connection id `client` from `channel`. */
  removePresence(channel: string, client: string): Promise<void>
  /** The members of `channel`. */
  presence(channel: string): Promise<ClientInfo[]>
  /** The number of members of `channel`. */
  presenceCount(channel: string): Promise<number>
  /** Stops timers and releases connections. */
  close(): Promise<void>
  /** Whether the broker works end to end right now (a broker without it is always healthy).
   * Readiness endpoints report it; see docs/cluster.md. */
  health?(): BrokerHealth
}

/** A broker's view of its own health. */
export interface BrokerHealth {
  readonly healthy: boolean
  /** Why not, when unhealthy. */
  readonly reason?: string
  /** When `healthy` last changed (ms since the Unix epoch). */
  readonly since: number
}

/** Where a broker delivers live events. */
export interface BrokerHandler {
  /** A live publication (a {@link TracedPublication} when its publish was traced). */
  onPublication(channel: string, publication: Publication, epoch: string): void
  onJoin(channel: string, info: ClientInfo): void
  onLeave(channel: string, info: ClientInfo): void
  onControl(message: ControlMessage): void
  /** Errors nobody awaits (a lost connection, a failed background read), for the app's log. */
  onError?(error: unknown): void
}

/** A cluster-wide instruction from one node's hub to every node's hub. */
export type ControlMessage =
  | { readonly type: 'user-message'; readonly user: string; readonly data: unknown }
  | {
      readonly type: 'disconnect'
      readonly user?: string
      readonly client?: string
      readonly code: number
      readonly reason: string
    }
  | {
      readonly type: 'subscribe' | 'unsubscribe'
      readonly user: string
      readonly channel: string
    }
  | {
      /** A credential was refreshed over HTTP: the node holding session `client` extends it to
       * `expiresAt` (ms, 0 = never) only if the session belongs to `user`. */
      readonly type: 'refresh'
      readonly user: string
      readonly client: string
      readonly expiresAt: number
    }

/** History settings of one publish (the namespace's). */
export interface HistoryOptions {
  /** Publications kept; 0 keeps none (offsets are still assigned). */
  readonly size: number
  /** Milliseconds a publication is kept. */
  readonly ttl: number
}

export interface BrokerPublishOptions {
  readonly history?: HistoryOptions
  readonly idempotencyKey?: string
  /** Milliseconds during which a repeated idempotency key is recognized (default 120 000). */
  readonly idempotencyWindow?: number
  /** Publisher, stored with the publication. */
  readonly info?: ClientInfo
  /** Conflation key, stored with the publication. */
  readonly key?: string
  /** The W3C trace context of the publish (`traceparent`, `tracestate`), when something traces:
   * carried with the publication to every node's `onPublication` (as {@link TracedPublication}
   * `trace`), never stored in history. */
  readonly trace?: Readonly<Record<string, string>>
}

/** A publication as `onPublication` gets it: with the trace context its publish carried, if
 * any. History answers never carry `trace`, and the hub never sends it to clients. */
export interface TracedPublication extends Publication {
  readonly trace?: Readonly<Record<string, string>>
}

export interface BrokerPublishResult extends StreamPosition {
  /** True when the idempotency key was already applied; nothing was stored or delivered. */
  readonly duplicate: boolean
}

export interface BrokerHistoryOptions {
  /** Only publications after this position, and none when its epoch is not the current one. */
  readonly since?: StreamPosition
  /** At most this many publications (oldest first). */
  readonly limit?: number
}

export interface BrokerHistoryResult extends StreamPosition {
  /** Publications in offset order. */
  readonly publications: Publication[]
}

/**
 * Whether a history answer recovers exactly everything after `since`: same epoch, the first
 * publication follows `since` directly, and the last one is the top of the stream. The hub uses
 * it so that recovery is never partial, whatever the broker.
 *
 * @example
 * isRecovered({ offset: 4, epoch: 'e' }, { offset: 6, epoch: 'e', publications: [p5, p6] }) // true
 */
export function isRecovered(since: StreamPosition, result: BrokerHistoryResult): boolean {
  if (since.epoch !== result.epoch || since.offset > result.offset) return false
  const pubs = result.publications
  if (pubs.length === 0) return since.offset === result.offset
  if (pubs[0]!.offset !== since.offset + 1) return false
  if (pubs[pubs.length - 1]!.offset !== result.offset) return false
  for (let i = 1; i < pubs.length; i++) {
    if (pubs[i]!.offset !== pubs[i - 1]!.offset + 1) return false
  }
  return true
}

/** A random epoch (10 characters of base 36), fit for the SSE id grammar. */
export function randomEpoch(): string {
  const bytes = new Uint8Array(8)
  globalThis.crypto.getRandomValues(bytes)
  let n = 0n
  for (const b of bytes) n = (n << 8n) | BigInt(b)
  return n.toString(36).padStart(10, '0').slice(-10)
}
