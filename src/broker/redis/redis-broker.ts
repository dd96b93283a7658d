import { SwitchboardError } from '../../errors/index.ts'
import type { ClientInfo, Publication } from '../../protocol/index.ts'
import {
  type Broker,
  type BrokerHandler,
  type BrokerHealth,
  type BrokerHistoryOptions,
  type BrokerHistoryResult,
  type BrokerPublishOptions,
  type BrokerPublishResult,
  type ControlMessage,
  randomEpoch,
} from '../broker.ts'
import { LiveOrder } from '../live-order.ts'
import {
  decodeTopicMessage,
  encodePresenceEvent,
  entryPublication,
  packBody,
  packControl,
  type StreamEntry,
  unpackControl,
} from './codec.ts'
import { HealthProbe } from './health.ts'
import { createLink, type RedisLink, script } from './link.ts'
import {
  type RedisBrokerOptions,
  type ResolvedRedisOptions,
  resolveRedisOptions,
} from './options.ts'
import { RedisPresence } from './presence.ts'
import { HISTORY_SCRIPT, PUBLISH_SCRIPT } from './scripts.ts'

const PUBLISH = script(PUBLISH_SCRIPT)
const HISTORY = script(HISTORY_SCRIPT)
const DEFAULT_IDEMPOTENCY_WINDOW = 120_000

/**
 * The Redis broker: many Switchboard nodes share one channel world through Redis, with no
 * sticky sessions. Each channel is a Redis stream plus a meta hash (offset, epoch), appended and
 * published by one Lua script, so offsets are dense and history order is offset order. A node
 * subscribes to a channel's Pub/Sub topic only while it has a local subscriber (interest
 * routing); a hole in live delivery is filled from the stream before it becomes a gap; presence
 * members expire when their node stops refreshing them; a health probe notices a stalled
 * Redis. On a Redis Cluster every key of a channel shares a hash tag and live delivery uses
 * sharded Pub/Sub. See docs/cluster.md.
 *
 * @example
 * import { RedisBroker } from 'switchboard/redis'
 * app.channels.configure({ broker: new RedisBroker({ url: 'redis://127.0.0.1:6379' }) })
 */
export class RedisBroker implements Broker {
  readonly name = 'redis'
  readonly #opts: ResolvedRedisOptions
  readonly #link: RedisLink
  readonly #live: LiveOrder
  readonly #presence: RedisPresence
  readonly #health: HealthProbe
  readonly #onErrorOption: ((error: unknown) => void) | undefined
  /** Topics by prefix: `P:{c:` + channel + `}`. */
  readonly #topicHead: string
  readonly #controlTopic: string
  readonly #healthTopic: string
  /** A fresh epoch for the next channel that needs one (replaced once used). */
  #spareEpoch = randomEpoch()
  #handler: BrokerHandler | null = null
  #closed = false
  #catchingUp = false
  #catchUpAgain = false

  constructor(options: RedisBrokerOptions) {
    this.#opts = resolveRedisOptions(options)
    const prefix = this.#opts.prefix
    this.#onErrorOption = options.onError
    this.#link = createLink({
      url: options.url,
      cluster: options.cluster,
      client: options.client,
      connectTimeout: this.#opts.connectTimeout,
      commandTimeout: this.#opts.commandTimeout,
    })
    this.#topicHead = `${prefix}:{c:`
    this.#controlTopic = `${prefix}:{control}`
    this.#healthTopic = `${prefix}:{health}:${randomEpoch()}`
    this.#live = new LiveOrder(
      (channel, since, limit) => this.history(channel, { since, limit }),
      (channel, pub, epoch) => this.#handler?.onPublication(channel, pub, epoch),
      (err) => this.#onError(err),
    )
    this.#presence = new RedisPresence({
      link: this.#link,
      keyOf: (channel, suffix) => this.#key(channel, suffix),
      ttl: this.#opts.presenceTtl,
      announceLeave: (channel, info) => this.publishLeave(channel, info),
      onError: (err) => this.#onError(err),
    })
    this.#health = new HealthProbe(
      (probe) =>
        this.#link.call(this.#healthTopic, [this.#link.publishCommand, this.#healthTopic, probe]),
      this.#opts.healthTimeout,
      options.onHealthChange,
      () => this.#catchUpAll(),
    )
  }

  async start(handler: BrokerHandler): Promise<void> {
    this.#handler = handler
    try {
      await this.#link.connect(
        (err) => {
          this.#health.fail(`redis: ${err.message}`)
          this.#onError(err)
        },
        () => this.#catchUpAll(),
      )
      await this.#link.subscribe(this.#controlTopic, this.#onControl)
      await this.#link.subscribe(this.#healthTopic, this.#onHealth)
    } catch (err) {
      throw unavailable(err)
    }
    this.#health.start(this.#opts.healthInterval)
    this.#presence.start()
  }

  async publish(
    channel: string,
    data: unknown,
    options: BrokerPublishOptions = {},
  ): Promise<BrokerPublishResult> {
    const history = options.history
    const idem = options.idempotencyKey
    const window =
      idem === undefined ? 0 : (options.idempotencyWindow ?? DEFAULT_IDEMPOTENCY_WINDOW)
    const meta = this.#key(channel, 'm')
    const spare = this.#spareEpoch
    const res = await this.#run(() =>
      this.#link.eval<[number, Buffer, number, number]>(
        PUBLISH,
        [
          meta,
          this.#key(channel, 's'),
          idem === undefined ? meta : this.#key(channel, `i:${idem}`),
        ],
        [
          packBody(data, options.info, options.key, options.trace),
          String(history?.size ?? 0),
          String(history?.ttl ?? 0),
          String(window),
          this.#topic(channel),
          spare,
          String(this.#opts.streamMetaTtl),
          this.#link.publishCommand,
        ],
      ),
    )
    const epoch = res[1].toString()
    if (epoch === spare) this.#spareEpoch = randomEpoch()
    const offset = Number(res[0])
    const duplicate = Number(res[2]) === 1
    if (!duplicate) {
      // This node's own subscribers need not wait for the Pub/Sub echo: the publication goes to
      // them now, in order (a publication of another node still in flight is read as a hole),
      // and the echo is skipped undecoded.
      const pub: {
        offset: number
        data: unknown
        time: number
        info?: ClientInfo
        key?: string
        trace?: Readonly<Record<string, string>>
      } = {
        offset,
        data,
        time: Number(res[3]),
      }
      if (options.info !== undefined) pub.info = options.info
      if (options.key !== undefined) pub.key = options.key
      if (options.trace !== undefined) pub.trace = options.trace
      this.#live.accept(channel, epoch, pub)
    }
    return { offset, epoch, duplicate }
  }

  async history(channel: string, options: BrokerHistoryOptions = {}): Promise<BrokerHistoryResult> {
    const { since, limit } = options
    const spare = this.#spareEpoch
    const res = await this.#run(() =>
      this.#link.eval<[Buffer, number, StreamEntry[]]>(
        HISTORY,
        [this.#key(channel, 'm'), this.#key(channel, 's')],
        [
          since === undefined ? '' : String(since.offset),
          since === undefined ? '' : since.epoch,
          String(limit === undefined || limit < 0 ? -1 : limit),
          spare,
          String(this.#opts.streamMetaTtl),
        ],
      ),
    )
    const epoch = res[0].toString()
    if (epoch === spare) this.#spareEpoch = randomEpoch()
    const publications: Publication[] = []
    for (const entry of res[2]) publications.push(entryPublication(entry))
    return { offset: Number(res[1]), epoch, publications }
  }

  async removeHistory(channel: string): Promise<void> {
    await this.#run(() =>
      this.#link.call(this.#key(channel, 'm'), [
        'DEL',
        this.#key(channel, 'm'),
        this.#key(channel, 's'),
      ]),
    )
  }

  async subscribe(channel: string): Promise<void> {
    this.#live.open(channel)
    try {
      await this.#run(() => this.#link.subscribe(this.#topic(channel), this.#onTopic))
      // Arrivals wait until the position is known, so a message lost in between is a hole to
      // fill, not a silent skip.
      const top = await this.history(channel, { limit: 0 })
      this.#live.start(channel, top)
    } catch (err) {
      this.#live.close(channel)
      this.#link.unsubscribe(this.#topic(channel), this.#onTopic).catch(noop)
      throw err
    }
  }

  async unsubscribe(channel: string): Promise<void> {
    this.#live.close(channel)
    this.#presence.forgetChannel(channel)
    await this.#run(() => this.#link.unsubscribe(this.#topic(channel), this.#onTopic))
  }

  async publishJoin(channel: string, info: ClientInfo): Promise<void> {
    await this.#publishTopic(channel, encodePresenceEvent('join', info))
  }

  async publishLeave(channel: string, info: ClientInfo): Promise<void> {
    await this.#publishTopic(channel, encodePresenceEvent('leave', info))
  }

  async publishControl(message: ControlMessage): Promise<void> {
    const topic = this.#controlTopic
    await this.#run(() =>
      this.#link.call(topic, [this.#link.publishCommand, topic, packControl(message)]),
    )
  }

  addPresence(channel: string, info: ClientInfo): Promise<void> {
    return this.#run(() => this.#presence.add(channel, info))
  }

  removePresence(channel: string, client: string): Promise<void> {
    return this.#run(() => this.#presence.remove(channel, client))
  }

  presence(channel: string): Promise<ClientInfo[]> {
    return this.#run(() => this.#presence.members(channel))
  }

  presenceCount(channel: string): Promise<number> {
    return this.#run(() => this.#presence.count(channel))
  }

  health(): BrokerHealth {
    return this.#health.health
  }

  /** Holes seen in live delivery, publications read back into it, and holes left as gaps. */
  get liveStats(): { readonly holes: number; readonly filled: number; readonly unfilled: number } {
    return this.#live.stats
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#health.stop()
    this.#presence.stop()
    this.#handler = null
    await this.#link.close()
  }

  #onError(error: unknown): void {
    const report = this.#onErrorOption ?? this.#handler?.onError
    report?.(error)
  }

  #key(channel: string, suffix: string): string {
    return `${this.#topicHead}${channel}}:${suffix}`
  }

  #topic(channel: string): string {
    return `${this.#topicHead}${channel}}`
  }

  #publishTopic(channel: string, payload: Buffer): Promise<void> {
    const topic = this.#topic(channel)
    return this.#run(() => this.#link.call(topic, [this.#link.publishCommand, topic, payload]))
  }

  async #run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      throw unavailable(err)
    }
  }

  /**
   * After a reconnect or a stall: every tracked channel is brought up to its stream's top, and
   * this node's presence members are written again. The two connections come back at their own
   * pace, so a catch-up that fails is tried again every `healthInterval` until one succeeds.
   */
  #catchUpAll(): void {
    if (this.#closed) return
    if (this.#catchingUp) {
      this.#catchUpAgain = true
      return
    }
    this.#catchingUp = true
    this.#catchUpAgain = false
    const channels = [...this.#live.channels()]
    Promise.all(
      channels.map((channel) =>
        this.history(channel, { limit: 0 }).then((top) => this.#live.catchUp(channel, top)),
      ),
    )
      .then(
        () => this.#presence.refreshAll(),
        (err: unknown) => {
          this.#onError(err)
          this.#catchUpAgain = true
        },
      )
      .finally(() => {
        this.#catchingUp = false
        if (this.#catchUpAgain && !this.#closed) {
          setTimeout(() => this.#catchUpAll(), this.#opts.healthInterval).unref?.()
        }
      })
  }

  readonly #onTopic = (message: Buffer, topic: Buffer): void => {
    const handler = this.#handler
    if (handler === null) return
    const name = topic.toString()
    const channel = name.slice(this.#topicHead.length, -1)
    let msg: ReturnType<typeof decodeTopicMessage>
    try {
      msg = decodeTopicMessage(message, (epoch, offset) => this.#live.wants(channel, epoch, offset))
    } catch (err) {
      this.#onError(err)
      return
    }
    if (msg.kind === 'publication') this.#live.accept(channel, msg.epoch, msg.publication)
    else if (msg.kind === 'skipped') return
    else if (msg.kind === 'join') {
      this.#presence.seen(channel)
      handler.onJoin(channel, msg.info)
    } else handler.onLeave(channel, msg.info)
  }

  readonly #onControl = (message: Buffer): void => {
    let control: ControlMessage
    try {
      control = unpackControl(message)
    } catch (err) {
      this.#onError(err)
      return
    }
    this.#handler?.onControl(control)
  }

  readonly #onHealth = (message: Buffer): void => {
    this.#health.received(message.toString())
  }
}

/** Any failure to reach Redis becomes the one coded broker error; the cause is kept for logs. */
function unavailable(err: unknown): SwitchboardError {
  if (err instanceof SwitchboardError) return err
  return new SwitchboardError('SWB_ERR_BROKER_UNAVAILABLE', undefined, { cause: err })
}

function noop(): void {}
