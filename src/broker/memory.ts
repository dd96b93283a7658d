import { SwitchboardError } from '../errors/index.ts'
import type { ClientInfo, Publication } from '../protocol/index.ts'
import {
  type Broker,
  type BrokerHandler,
  type BrokerHistoryOptions,
  type BrokerHistoryResult,
  type BrokerPublishOptions,
  type BrokerPublishResult,
  type ControlMessage,
  randomEpoch,
  type TracedPublication,
} from './broker.ts'
import type { Journal } from './journal.ts'

/** Options of {@link MemoryBroker}; every field has a safe default. */
export interface MemoryBrokerOptions {
  /** Milliseconds an idle stream (no history left, no local subscriber) keeps its offset and
   * epoch before it is forgotten (then it restarts with a new epoch). Default 3 600 000 (1 h). */
  readonly streamIdleTtl?: number
  /** Most idempotency keys remembered across channels; the oldest go first. Default 100 000. */
  readonly maxIdempotencyKeys?: number
  /** Soft cap on streams held: past it, streams with no history left and no subscriber are
   * forgotten early, oldest first (they restart with a new epoch). Streams that hold history
   * stay until their TTL. Default 100 000. */
  readonly maxStreams?: number
  /** Milliseconds between sweeps of expired history, keys and idle streams. Default 10 000. */
  readonly sweepInterval?: number
  /** Clock, for tests. Default `Date.now`. */
  readonly now?: () => number
  /** Share streams, presence and delivery with other brokers of the same cluster, to run several
   * hubs ("nodes") in one process (tests, demos). Default: a cluster of its own. */
  readonly cluster?: MemoryCluster
}

/**
 * The state several in-process {@link MemoryBroker}s share when they play the nodes of one
 * cluster: streams, presence, idempotency keys, and the set of nodes to deliver to.
 *
 * @example
 * const cluster = new MemoryCluster()
 * const nodeA = new Hub({ broker: new MemoryBroker({ cluster }) })
 * const nodeB = new Hub({ broker: new MemoryBroker({ cluster }) })
 */
export class MemoryCluster {
  /** @internal Streams by channel. */
  readonly streams = new Map<string, Stream>()
  /** @internal Presence members by channel, then connection id. */
  readonly presence = new Map<string, Map<string, ClientInfo>>()
  /** @internal `channel \0 key` -> first result; insertion order is expiry order. */
  readonly keys = new Map<string, KeyRecord>()
  /** @internal Per channel: the history limits last used, so sweeps trim without a publish. */
  readonly limits = new Map<string, { size: number; ttl: number }>()
  /** @internal The started brokers (nodes) events are delivered to. */
  readonly members = new Set<MemoryBroker>()
}

const DEFAULTS = {
  streamIdleTtl: 3_600_000,
  maxIdempotencyKeys: 100_000,
  maxStreams: 100_000,
  sweepInterval: 10_000,
  idempotencyWindow: 120_000,
}

/** One channel's stream: a ring of kept publications and the position. */
class Stream {
  readonly epoch: string
  top = 0
  /** The last offset on stable storage: what reads and positions may show. Equal to `top`
   * without a journal. */
  committed = 0
  /** A channel without history whose offsets the journal does not follow. */
  volatile = false
  /** Kept publications; `head` is the index of the oldest live one. */
  entries: Publication[] = []
  head = 0
  touched: number

  constructor(now: number, epoch = randomEpoch()) {
    this.touched = now
    this.epoch = epoch
  }

  /** Offset of the oldest kept publication (top + 1 when none is kept). */
  get first(): number {
    return this.entries[this.head]?.offset ?? this.top + 1
  }

  get size(): number {
    return this.entries.length - this.head
  }

  /** Drops from the oldest end until at most `size` remain and none is older than `minTime`. */
  trim(size: number, minTime: number): void {
    const e = this.entries
    while (
      this.head < e.length &&
      (e.length - this.head > size || (e[this.head]!.time ?? 0) < minTime)
    ) {
      this.head++
    }
    if (this.head > 64 && this.head * 2 > e.length) {
      this.entries = e.slice(this.head)
      this.head = 0
    }
  }
}

export interface KeyRecord {
  readonly offset: number
  readonly epoch: string
  readonly expires: number
}

/**
 * The embedded single-process broker and the default. History is bounded per channel by the
 * namespace's size and TTL; every stream gets a new random epoch when it is created, so a
 * restarted process (a new instance) never resumes clients into a stream it does not have.
 * Everything is synchronous inside: an offset is assigned, stored and delivered in one step.
 *
 * @example
 * const broker = new MemoryBroker({ streamIdleTtl: 60_000 })
 */
export class MemoryBroker implements Broker {
  readonly name: string = 'memory'
  readonly #opts: Required<Omit<MemoryBrokerOptions, 'cluster'>>
  readonly #cluster: MemoryCluster
  readonly #streams: Map<string, Stream>
  readonly #subscribed = new Set<string>()
  readonly #presence: Map<string, Map<string, ClientInfo>>
  readonly #keys: Map<string, KeyRecord>
  readonly #limits: Map<string, { size: number; ttl: number }>
  #handler: BrokerHandler | null = null
  #timer: ReturnType<typeof setInterval> | null = null
  readonly #journal: Journal | null

  /** `journal` (internal: `DurableBroker` passes one) keeps the streams beyond the process. */
  constructor(options: MemoryBrokerOptions = {}, journal: Journal | null = null) {
    this.#journal = journal
    const cluster = options.cluster ?? new MemoryCluster()
    this.#cluster = cluster
    this.#streams = cluster.streams
    this.#presence = cluster.presence
    this.#keys = cluster.keys
    this.#limits = cluster.limits
    this.#opts = Object.freeze({
      streamIdleTtl: options.streamIdleTtl ?? DEFAULTS.streamIdleTtl,
      maxIdempotencyKeys: options.maxIdempotencyKeys ?? DEFAULTS.maxIdempotencyKeys,
      maxStreams: options.maxStreams ?? DEFAULTS.maxStreams,
      sweepInterval: options.sweepInterval ?? DEFAULTS.sweepInterval,
      now: options.now ?? Date.now,
    })
    for (const k of [
      'streamIdleTtl',
      'maxIdempotencyKeys',
      'maxStreams',
      'sweepInterval',
    ] as const) {
      const v = this.#opts[k]
      if (!Number.isFinite(v) || v <= 0) {
        throw new TypeError(`MemoryBroker option ${k} must be a positive number, got ${v}`)
      }
    }
  }

  async start(handler: BrokerHandler): Promise<void> {
    if (this.#journal !== null && this.#handler === null) {
      const now = this.#opts.now()
      const loaded = await this.#journal.load(now)
      // Keys come back oldest first, so eviction order stays expiry order.
      for (const k of loaded.keys) {
        this.#keys.set(k.name, { offset: k.offset, epoch: k.epoch, expires: k.expires })
      }
      for (const j of loaded.streams) {
        const stream = new Stream(now, j.epoch)
        stream.top = j.top
        stream.committed = j.top
        stream.entries = j.entries
        this.#streams.set(j.channel, stream)
        if (j.limits !== undefined) this.#limits.set(j.channel, j.limits)
      }
    }
    this.#handler = handler
    this.#cluster.members.add(this)
    if (this.#timer === null) {
      this.#timer = setInterval(sweep, this.#opts.sweepInterval, this)
      this.#timer.unref?.()
    }
  }

  async publish(
    channel: string,
    data: unknown,
    options: BrokerPublishOptions = {},
  ): Promise<BrokerPublishResult> {
    const now = this.#opts.now()
    const idemKey = options.idempotencyKey
    let keyName: string | undefined
    if (idemKey !== undefined) {
      keyName = `${channel}\0${idemKey}`
      const seen = this.#keys.get(keyName)
      if (seen !== undefined && seen.expires > now) {
        return { offset: seen.offset, epoch: seen.epoch, duplicate: true }
      }
      if (seen !== undefined) this.#keys.delete(keyName)
    }
    const stream = this.#stream(channel, now)
    const offset = ++stream.top
    const pub: Publication = {
      offset,
      data,
      time: now,
      ...(options.info === undefined ? null : { info: options.info }),
      ...(options.key === undefined ? null : { key: options.key }),
    }
    const history = options.history
    const kept = history !== undefined && history.size > 0 && history.ttl > 0
    if (kept) {
      stream.entries.push(pub)
      stream.trim(history.size, now - history.ttl)
      this.#limits.set(channel, history)
    }
    let keyRecord: KeyRecord | undefined
    if (keyName !== undefined) {
      keyRecord = {
        offset,
        epoch: stream.epoch,
        expires: now + (options.idempotencyWindow ?? DEFAULTS.idempotencyWindow),
      }
      this.#keys.set(keyName, keyRecord)
      if (this.#keys.size > this.#opts.maxIdempotencyKeys) {
        const oldest = this.#keys.keys().next().value!
        this.#keys.delete(oldest)
        this.#journal?.forgetKey(oldest).catch(this.#reportError)
      }
    }
    const epoch = stream.epoch
    const journal = this.#journal
    if (
      journal === null ||
      (!kept && stream.volatile && keyName === undefined && !this.#limits.has(channel))
    ) {
      // Without a journal, or on a channel that keeps no history and whose first publication
      // marked it volatile on disk (it comes back after a restart in a new epoch, so its offsets
      // need not be stored), nothing waits for the disk.
      stream.committed = offset
      this.#deliver(channel, traced(pub, options.trace), epoch)
      return { offset, epoch, duplicate: false }
    }
    if (!kept) stream.volatile = true
    const committed = journal.append(
      channel,
      epoch,
      pub,
      kept ? history : undefined,
      keyName === undefined ? undefined : { name: keyName, ...keyRecord! },
    )
    if (journal.deliversEarly) {
      // Delivered at once and answered once on disk; the journal gives every stream a new epoch
      // after an unclean stop, since a client may have seen what the crash lost.
      stream.committed = offset
      this.#deliver(channel, traced(pub, options.trace), epoch)
    }
    try {
      await committed
    } catch (err) {
      // The stream may now lack an offset it assigned: it starts over in a new epoch.
      if (this.#streams.get(channel) === stream) this.#streams.delete(channel)
      throw new SwitchboardError('SWB_ERR_BROKER_STORAGE', undefined, { cause: err })
    }
    if (kept) journal.trim(channel, stream.first).catch(this.#reportError)
    if (!journal.deliversEarly) {
      // Delivered and answered only once on stable storage, so nothing a client saw can be
      // missing after a crash (the restarted node keeps the epoch).
      if (offset > stream.committed) stream.committed = offset
      this.#deliver(channel, traced(pub, options.trace), epoch)
    }
    return { offset, epoch, duplicate: false }
  }

  async history(channel: string, options: BrokerHistoryOptions = {}): Promise<BrokerHistoryResult> {
    const now = this.#opts.now()
    // Reading a channel fixes its epoch, so a later `since` from this answer stays meaningful.
    const stream = this.#stream(channel, now)
    const limits = this.#limits.get(channel)
    if (limits !== undefined) stream.trim(limits.size, now - limits.ttl)
    const { since, limit } = options
    const publications: Publication[] = []
    if (limit !== 0 && (since === undefined || since.epoch === stream.epoch)) {
      const e = stream.entries
      let i = stream.head
      if (since !== undefined) {
        // Offsets are dense inside the kept window, so the start index is computed directly.
        const first = e[i]?.offset ?? stream.top + 1
        i += Math.max(0, since.offset + 1 - first)
      }
      const max = limit === undefined || limit < 0 ? Number.POSITIVE_INFINITY : limit
      const top = stream.committed
      for (; i < e.length && publications.length < max && e[i]!.offset <= top; i++) {
        publications.push(e[i]!)
      }
    }
    return { offset: stream.committed, epoch: stream.epoch, publications }
  }

  async removeHistory(channel: string): Promise<void> {
    const stream = this.#streams.get(channel)
    this.#streams.delete(channel)
    this.#limits.delete(channel)
    await this.#journal?.drop(channel, stream?.top ?? 0)
  }

  async subscribe(channel: string): Promise<void> {
    this.#subscribed.add(channel)
  }

  async unsubscribe(channel: string): Promise<void> {
    this.#subscribed.delete(channel)
  }

  async publishJoin(channel: string, info: ClientInfo): Promise<void> {
    for (const node of this.#cluster.members) {
      if (node.#subscribed.has(channel)) node.#handler?.onJoin(channel, info)
    }
  }

  async publishLeave(channel: string, info: ClientInfo): Promise<void> {
    for (const node of this.#cluster.members) {
      if (node.#subscribed.has(channel)) node.#handler?.onLeave(channel, info)
    }
  }

  async publishControl(message: ControlMessage): Promise<void> {
    for (const node of this.#cluster.members) node.#handler?.onControl(message)
  }

  async addPresence(channel: string, info: ClientInfo): Promise<void> {
    let members = this.#presence.get(channel)
    if (members === undefined) {
      members = new Map()
      this.#presence.set(channel, members)
    }
    members.set(info.client, info)
  }

  async removePresence(channel: string, client: string): Promise<void> {
    const members = this.#presence.get(channel)
    if (members === undefined) return
    members.delete(client)
    if (members.size === 0) this.#presence.delete(channel)
  }

  async presence(channel: string): Promise<ClientInfo[]> {
    const members = this.#presence.get(channel)
    return members === undefined ? [] : [...members.values()]
  }

  async presenceCount(channel: string): Promise<number> {
    return this.#presence.get(channel)?.size ?? 0
  }

  async close(): Promise<void> {
    this.#cluster.members.delete(this)
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    this.#handler = null
    await this.#journal?.close()
  }

  /** Number of streams held (for tests and metrics). */
  get streamCount(): number {
    return this.#streams.size
  }

  /** Number of idempotency keys held (for tests and metrics). */
  get idempotencyKeyCount(): number {
    return this.#keys.size
  }

  /** The stream of a channel, created on first use (evicting idle empty ones past maxStreams). */
  #stream(channel: string, now: number): Stream {
    let stream = this.#streams.get(channel)
    if (stream === undefined) {
      if (this.#streams.size >= this.#opts.maxStreams) this.#evictIdle()
      stream = new Stream(now)
      this.#streams.set(channel, stream)
      // A read may show this epoch to a client: it must survive a restart too.
      this.#journal?.position(channel, stream.epoch, 0).catch(this.#reportError)
    }
    stream.touched = now
    return stream
  }

  /** Forgets streams with no history and no subscriber, oldest first, down to 90% of the cap. */
  #evictIdle(): void {
    const target = Math.floor(this.#opts.maxStreams * 0.9)
    for (const [channel, stream] of this.#streams) {
      if (this.#streams.size <= target) return
      if (stream.size === 0 && !this.#anySubscribed(channel)) {
        this.#streams.delete(channel)
        this.#limits.delete(channel)
        this.#journal?.drop(channel, stream.top).catch(this.#reportError)
      }
    }
  }

  #deliver(channel: string, pub: Publication, epoch: string): void {
    for (const node of this.#cluster.members) {
      if (node.#subscribed.has(channel)) node.#handler?.onPublication(channel, pub, epoch)
    }
  }

  readonly #reportError = (err: unknown): void => {
    this.#handler?.onError?.(err)
  }

  #anySubscribed(channel: string): boolean {
    for (const node of this.#cluster.members) if (node.#subscribed.has(channel)) return true
    return this.#subscribed.has(channel)
  }

  /** Drops expired history, keys and idle streams. Runs on a timer; callable by tests. */
  sweep(): void {
    const now = this.#opts.now()
    for (const [name, rec] of this.#keys) {
      if (rec.expires > now) continue
      this.#keys.delete(name)
      this.#journal?.forgetKey(name).catch(this.#reportError)
    }
    for (const [channel, stream] of this.#streams) {
      const limits = this.#limits.get(channel)
      if (limits !== undefined) {
        const first = stream.first
        stream.trim(limits.size, now - limits.ttl)
        if (stream.first !== first)
          this.#journal?.trim(channel, stream.first).catch(this.#reportError)
      }
      if (
        stream.size === 0 &&
        !this.#anySubscribed(channel) &&
        now - stream.touched >= this.#opts.streamIdleTtl
      ) {
        this.#streams.delete(channel)
        this.#limits.delete(channel)
        this.#journal?.drop(channel, stream.top).catch(this.#reportError)
      }
    }
  }
}

/** The publication delivered live: with its publish's trace context, if it carried one (the
 * stored one never has it). */
function traced(
  pub: Publication,
  trace: Readonly<Record<string, string>> | undefined,
): Publication {
  return trace === undefined ? pub : ({ ...pub, trace } as TracedPublication)
}

function sweep(broker: MemoryBroker): void {
  broker.sweep()
}
