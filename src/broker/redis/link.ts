import { createHash } from 'node:crypto'
import {
  createClient,
  createCluster,
  RESP_TYPES,
  type RedisClientType,
  type RedisClusterType,
} from 'redis'
import { Deadlines } from './deadlines.ts'

/** Replies as Buffers, so bodies are never decoded as text. */
const BUFFERS = { [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.SIMPLE_STRING]: Buffer } as const

/** A Pub/Sub listener: message and topic as bytes. */
export type TopicListener = (message: Buffer, topic: Buffer) => void

/** A script the link runs by hash, loading it on first use. */
export interface Script {
  readonly source: string
  readonly sha: string
}

export function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') }
}

/** A node-redis client (`createClient`) or cluster client (`createCluster`), whatever its
 * modules and RESP version: the broker uses only commands every one of them has. */
export interface AnyRedisClient {
  readonly isOpen: boolean
  connect(): Promise<unknown>
}

/** How the broker reaches Redis, in one shape for a single server and a Cluster. */
export interface RedisLink {
  /** Whether live delivery uses sharded Pub/Sub (`SSUBSCRIBE`/`SPUBLISH`). */
  readonly sharded: boolean
  readonly publishCommand: 'PUBLISH' | 'SPUBLISH'
  connect(onError: (err: Error) => void, onReady: () => void): Promise<void>
  /** Runs a command routed by `key` (the first key, or the shard channel); rejects when no
   * reply came within the command timeout. */
  call<T>(key: string, args: readonly (string | Buffer)[]): Promise<T>
  /** Runs a script by hash, with its source as the fallback when Redis does not know it. */
  eval<T>(s: Script, keys: readonly string[], argv: readonly (string | Buffer)[]): Promise<T>
  subscribe(topic: string, listener: TopicListener): Promise<void>
  unsubscribe(topic: string, listener: TopicListener): Promise<void>
  close(): Promise<void>
}

/** What both links share: deadlines on replies, scripts by hash, a bounded connect. */
abstract class BaseLink {
  readonly #deadlines: Deadlines
  readonly #connectTimeout: number

  constructor(commandTimeout: number, connectTimeout: number) {
    this.#deadlines = new Deadlines(commandTimeout)
    this.#connectTimeout = connectTimeout
  }

  protected abstract send<T>(key: string, args: (string | Buffer)[]): Promise<T>
  protected abstract open(onError: (err: Error) => void, onReady: () => void): Promise<void>
  abstract close(): Promise<void>

  /** Connects, or rejects after the connect timeout (node-redis itself retries forever). */
  async connect(onError: (err: Error) => void, onReady: () => void): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`could not connect to Redis within ${this.#connectTimeout} ms`)),
        this.#connectTimeout,
      )
    })
    try {
      await Promise.race([this.open(onError, onReady), late])
    } catch (err) {
      await this.close()
      throw err
    } finally {
      clearTimeout(timer)
    }
  }

  call<T>(key: string, args: readonly (string | Buffer)[]): Promise<T> {
    return this.#deadlines.watch(this.send<T>(key, args as (string | Buffer)[]))
  }

  /** Settles like `promise`, or rejects when Redis did not answer within the command timeout. */
  protected watch<T>(promise: Promise<T>): Promise<T> {
    return this.#deadlines.watch(promise)
  }

  async eval<T>(
    s: Script,
    keys: readonly string[],
    argv: readonly (string | Buffer)[],
  ): Promise<T> {
    const rest = [String(keys.length), ...keys, ...argv]
    try {
      return await this.call<T>(keys[0]!, ['EVALSHA', s.sha, ...rest])
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err
      return this.call<T>(keys[0]!, ['EVAL', s.source, ...rest])
    }
  }

  protected stopDeadlines(): void {
    this.#deadlines.stop()
  }
}

/** The link over one Redis server: a command client and a subscriber duplicate of it. */
class SingleLink extends BaseLink implements RedisLink {
  readonly sharded = false
  readonly publishCommand = 'PUBLISH'
  readonly #client: RedisClientType
  readonly #owned: boolean
  #sub: RedisClientType | null = null

  constructor(
    client: AnyRedisClient,
    owned: boolean,
    commandTimeout: number,
    connectTimeout: number,
  ) {
    super(commandTimeout, connectTimeout)
    this.#client = client as unknown as RedisClientType
    this.#owned = owned
  }

  protected async open(onError: (err: Error) => void, onReady: () => void): Promise<void> {
    const client = this.#client
    client.on('error', onError)
    client.on('ready', onReady)
    if (!client.isOpen) await client.connect()
    const sub = client.duplicate({ disableOfflineQueue: true }) as RedisClientType
    this.#sub = sub
    sub.on('error', onError)
    sub.on('ready', onReady)
    await sub.connect()
  }

  protected send<T>(_key: string, args: (string | Buffer)[]): Promise<T> {
    return this.#client.sendCommand(args, { typeMapping: BUFFERS }) as Promise<T>
  }

  subscribe(topic: string, listener: TopicListener): Promise<void> {
    return this.watch(this.#sub!.subscribe(topic, listener as never, true))
  }

  unsubscribe(topic: string, listener: TopicListener): Promise<void> {
    return this.watch(this.#sub!.unsubscribe(topic, listener as never, true))
  }

  async close(): Promise<void> {
    this.stopDeadlines()
    const sub = this.#sub
    this.#sub = null
    if (sub?.isOpen) sub.destroy()
    if (this.#owned && this.#client.isOpen) this.#client.destroy()
  }
}

/** The link over a Redis Cluster: keys routed by hash slot, live delivery on sharded Pub/Sub. */
class ClusterLink extends BaseLink implements RedisLink {
  readonly sharded = true
  readonly publishCommand = 'SPUBLISH'
  readonly #cluster: RedisClusterType
  readonly #owned: boolean

  constructor(
    cluster: AnyRedisClient,
    owned: boolean,
    commandTimeout: number,
    connectTimeout: number,
  ) {
    super(commandTimeout, connectTimeout)
    this.#cluster = cluster as unknown as RedisClusterType
    this.#owned = owned
  }

  protected async open(onError: (err: Error) => void, onReady: () => void): Promise<void> {
    this.#cluster.on('error', onError)
    this.#cluster.on('node-ready', onReady)
    if (!this.#cluster.isOpen) await this.#cluster.connect()
  }

  protected send<T>(key: string, args: (string | Buffer)[]): Promise<T> {
    return this.#cluster.sendCommand(key, false, args, { typeMapping: BUFFERS }) as Promise<T>
  }

  subscribe(topic: string, listener: TopicListener): Promise<void> {
    return this.watch(this.#cluster.sSubscribe(topic, listener as never, true))
  }

  unsubscribe(topic: string, listener: TopicListener): Promise<void> {
    return this.watch(this.#cluster.sUnsubscribe(topic, listener as never, true))
  }

  async close(): Promise<void> {
    this.stopDeadlines()
    if (this.#owned && this.#cluster.isOpen) this.#cluster.destroy()
  }
}

/** What the broker needs to build its link. */
export interface LinkOptions {
  readonly url?: string | undefined
  readonly cluster?: readonly string[] | undefined
  readonly client?: AnyRedisClient | undefined
  readonly connectTimeout: number
  readonly commandTimeout: number
}

/** Builds the link from a URL, a list of cluster nodes, or a client the caller supplies. */
export function createLink(options: LinkOptions): RedisLink {
  const socket = {
    connectTimeout: options.connectTimeout,
    // Reconnect forever, backing off to 2 s: the broker fails publishes fast meanwhile.
    reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 6), 2000),
  }
  if (options.client !== undefined) {
    const c = options.client as { masters?: unknown }
    return Array.isArray(c.masters)
      ? new ClusterLink(options.client, false, options.commandTimeout, options.connectTimeout)
      : new SingleLink(options.client, false, options.commandTimeout, options.connectTimeout)
  }
  if (options.cluster !== undefined) {
    const cluster = createCluster({
      rootNodes: options.cluster.map((url) => ({ url })),
      defaults: { socket, disableOfflineQueue: true },
    })
    return new ClusterLink(
      cluster as unknown as AnyRedisClient,
      true,
      options.commandTimeout,
      options.connectTimeout,
    )
  }
  const client = createClient({ url: options.url, socket, disableOfflineQueue: true })
  return new SingleLink(
    client as unknown as AnyRedisClient,
    true,
    options.commandTimeout,
    options.connectTimeout,
  )
}
