import { createHash } from 'node:crypto'
import {
  createClient,
  createCluster,
  RESP_TYPES,
  type RedisClientType,
  type RedisClusterType,
} from 'redis'

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
  /** Runs a command routed by `key` (the first key, or the shard channel). */
  call<T>(key: string, args: readonly (string | Buffer)[], timeout: number): Promise<T>
  /** Runs a script by hash, with its source as the fallback when Redis does not know it. */
  eval<T>(
    s: Script,
    keys: readonly string[],
    argv: readonly (string | Buffer)[],
    timeout: number,
  ): Promise<T>
  subscribe(topic: string, listener: TopicListener): Promise<void>
  unsubscribe(topic: string, listener: TopicListener): Promise<void>
  close(): Promise<void>
}

/** The link over one Redis server: a command client and a subscriber duplicate of it. */
class SingleLink implements RedisLink {
  readonly sharded = false
  readonly publishCommand = 'PUBLISH'
  readonly #client: AnyRedisClient & { duplicate: RedisClientType['duplicate'] }
  readonly #owned: boolean
  #sub: AnyRedisClient | null = null

  constructor(client: AnyRedisClient, owned: boolean) {
    this.#client = client as never
    this.#owned = owned
  }

  async connect(onError: (err: Error) => void, onReady: () => void): Promise<void> {
    const client = this.#client as RedisClientType
    client.on('error', onError)
    client.on('ready', onReady)
    if (!client.isOpen) await client.connect()
    const sub = client.duplicate({ disableOfflineQueue: true }) as RedisClientType
    sub.on('error', onError)
    sub.on('ready', onReady)
    await sub.connect()
    this.#sub = sub
  }

  call<T>(_key: string, args: readonly (string | Buffer)[], timeout: number): Promise<T> {
    return (this.#client as RedisClientType).sendCommand(args as (string | Buffer)[], {
      timeout,
      typeMapping: BUFFERS,
    }) as Promise<T>
  }

  eval<T>(
    s: Script,
    keys: readonly string[],
    argv: readonly (string | Buffer)[],
    timeout: number,
  ): Promise<T> {
    return evalWith(this, s, keys, argv, timeout)
  }

  subscribe(topic: string, listener: TopicListener): Promise<void> {
    return (this.#sub as RedisClientType).subscribe(topic, listener as never, true)
  }

  unsubscribe(topic: string, listener: TopicListener): Promise<void> {
    return (this.#sub as RedisClientType).unsubscribe(topic, listener as never, true)
  }

  async close(): Promise<void> {
    const sub = this.#sub as RedisClientType | null
    this.#sub = null
    if (sub?.isOpen) sub.destroy()
    const client = this.#client as RedisClientType
    if (this.#owned && client.isOpen) client.destroy()
  }
}

/** The link over a Redis Cluster: keys routed by hash slot, live delivery on sharded Pub/Sub. */
class ClusterLink implements RedisLink {
  readonly sharded = true
  readonly publishCommand = 'SPUBLISH'
  readonly #cluster: RedisClusterType
  readonly #owned: boolean

  constructor(cluster: AnyRedisClient, owned: boolean) {
    this.#cluster = cluster as unknown as RedisClusterType
    this.#owned = owned
  }

  async connect(onError: (err: Error) => void, onReady: () => void): Promise<void> {
    this.#cluster.on('error', onError)
    this.#cluster.on('node-ready', onReady)
    if (!this.#cluster.isOpen) await this.#cluster.connect()
  }

  call<T>(key: string, args: readonly (string | Buffer)[], timeout: number): Promise<T> {
    return this.#cluster.sendCommand(key, false, args as (string | Buffer)[], {
      timeout,
      typeMapping: BUFFERS,
    }) as Promise<T>
  }

  eval<T>(
    s: Script,
    keys: readonly string[],
    argv: readonly (string | Buffer)[],
    timeout: number,
  ): Promise<T> {
    return evalWith(this, s, keys, argv, timeout)
  }

  subscribe(topic: string, listener: TopicListener): Promise<void> {
    return this.#cluster.sSubscribe(topic, listener as never, true)
  }

  unsubscribe(topic: string, listener: TopicListener): Promise<void> {
    return this.#cluster.sUnsubscribe(topic, listener as never, true)
  }

  async close(): Promise<void> {
    if (this.#owned && this.#cluster.isOpen) this.#cluster.destroy()
  }
}

async function evalWith<T>(
  link: RedisLink,
  s: Script,
  keys: readonly string[],
  argv: readonly (string | Buffer)[],
  timeout: number,
): Promise<T> {
  const rest = [String(keys.length), ...keys, ...argv]
  try {
    return await link.call<T>(keys[0]!, ['EVALSHA', s.sha, ...rest], timeout)
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err
    return link.call<T>(keys[0]!, ['EVAL', s.source, ...rest], timeout)
  }
}

/** What the broker needs to build its link. */
export interface LinkOptions {
  readonly url?: string | undefined
  readonly cluster?: readonly string[] | undefined
  readonly client?: AnyRedisClient | undefined
  readonly connectTimeout: number
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
      ? new ClusterLink(options.client, false)
      : new SingleLink(options.client, false)
  }
  if (options.cluster !== undefined) {
    const cluster = createCluster({
      rootNodes: options.cluster.map((url) => ({ url })),
      defaults: { socket, disableOfflineQueue: true },
    })
    return new ClusterLink(cluster as unknown as AnyRedisClient, true)
  }
  const client = createClient({ url: options.url, socket, disableOfflineQueue: true })
  return new SingleLink(client as AnyRedisClient, true)
}
