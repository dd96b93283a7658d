import { SwitchboardError } from '../../errors/index.ts'
import type { BrokerHealth } from '../broker.ts'
import type { AnyRedisClient } from './link.ts'

/** Options of {@link RedisBroker}: give one of `url`, `cluster` or `client`; the rest have safe
 * defaults. */
export interface RedisBrokerOptions {
  /** One Redis server, for example `redis://127.0.0.1:6379`. */
  readonly url?: string
  /** The nodes of a Redis Cluster to start from (any reachable subset). Live delivery then uses
   * sharded Pub/Sub. */
  readonly cluster?: readonly string[]
  /** A node-redis client or cluster client you built (TLS, auth, sentinels …). The broker
   * connects it if it is not open, never closes it, and opens its own duplicate for Pub/Sub. */
  readonly client?: AnyRedisClient
  /** Prefix of every key and topic, so several apps can share one Redis. Default `'swb'`. */
  readonly prefix?: string
  /** Milliseconds a command may take before it fails with `SWB_ERR_BROKER_UNAVAILABLE`.
   * Default 2 000. */
  readonly commandTimeout?: number
  /** Milliseconds to wait for a connection. Default 5 000. */
  readonly connectTimeout?: number
  /** Milliseconds a presence member outlives the last refresh by its node: how long a dead
   * node's members linger. They are refreshed every third of it, and leave within about
   * 4/3 of it. Default 10 000. */
  readonly presenceTtl?: number
  /** Milliseconds a channel's offset and epoch outlive its last publication (then the channel
   * restarts with a new epoch). At least the history TTL. Default 30 days. */
  readonly streamMetaTtl?: number
  /** Milliseconds between health probes (a publish to this node's own topic). Default 1 000. */
  readonly healthInterval?: number
  /** Milliseconds a probe may take to come back before the broker is unhealthy. Default 3 000. */
  readonly healthTimeout?: number
  /** Called when the broker becomes unhealthy or healthy again. */
  readonly onHealthChange?: (health: BrokerHealth) => void
  /** Called with errors nobody awaits (a lost connection, a failed hole fill). Default: none;
   * the hub passes its own. */
  readonly onError?: (error: unknown) => void
}

export interface ResolvedRedisOptions {
  readonly prefix: string
  readonly commandTimeout: number
  readonly connectTimeout: number
  readonly presenceTtl: number
  readonly streamMetaTtl: number
  readonly healthInterval: number
  readonly healthTimeout: number
}

const DEFAULTS: ResolvedRedisOptions = {
  prefix: 'swb',
  commandTimeout: 2_000,
  connectTimeout: 5_000,
  presenceTtl: 10_000,
  streamMetaTtl: 30 * 24 * 3_600_000,
  healthInterval: 1_000,
  healthTimeout: 3_000,
}

/** Defaults spread once, validated once, frozen. */
export function resolveRedisOptions(options: RedisBrokerOptions): ResolvedRedisOptions {
  const given = [options.url, options.cluster, options.client].filter((x) => x !== undefined)
  if (given.length !== 1) invalid('give exactly one of url, cluster and client')
  if (options.cluster !== undefined && options.cluster.length === 0) {
    invalid('cluster must list at least one node')
  }
  const resolved = { ...DEFAULTS }
  for (const k of Object.keys(DEFAULTS) as (keyof ResolvedRedisOptions)[]) {
    const v = options[k]
    if (v !== undefined) (resolved as Record<string, unknown>)[k] = v
  }
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(resolved.prefix)) {
    invalid(
      `prefix must be 1-64 characters of [A-Za-z0-9_.:-], got ${JSON.stringify(resolved.prefix)}`,
    )
  }
  for (const k of Object.keys(DEFAULTS) as (keyof ResolvedRedisOptions)[]) {
    if (k === 'prefix') continue
    const v = resolved[k]
    if (!Number.isInteger(v) || v <= 0) invalid(`${k} must be a positive integer, got ${v}`)
  }
  return Object.freeze(resolved)
}

function invalid(message: string): never {
  throw new SwitchboardError('SWB_ERR_INVALID_OPTION', `RedisBroker: ${message}`)
}
