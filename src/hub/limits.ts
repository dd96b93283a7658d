// Connection and rate limits of the channel endpoint. Each has a safe default, answers with a
// coded error (429, or the 3006 disconnect code), and is counted in `limiter.refused`. Nothing here
// runs on the fan-out path: limits apply when a connection opens and when a command arrives.
import { SwitchboardError } from '../errors/index.ts'
import { NO_METRICS } from './recorder.ts'
import type { RecorderHost } from './timed-broker.ts'

/** Limits of the channel endpoint; every one has a safe default. `Infinity` turns one off. */
export interface LimitOptions {
  /** Open channel connections (WebSocket and SSE) from one IP address. Default 1,000. */
  readonly connectionsPerIp?: number
  /** Open channel connections of one signed-in user on this node. Default 100. */
  readonly connectionsPerUser?: number
  /** New channel connections (upgrades and stream opens) per IP address per second, with bursts
   * of twice as many. Default 50. */
  readonly connectsPerIpPerSecond?: number
  /** Publishes per session per second (bursts of twice as many). Default 100. */
  readonly publishesPerSecond?: number
  /** Publishes per signed-in user per second, over all their sessions and HTTP. Default 500. */
  readonly publishesPerUserPerSecond?: number
  /** Rpc calls per session per second (bursts of twice as many). Default 100. */
  readonly rpcPerSecond?: number
  /** Rpc calls per signed-in user per second. Default 500. */
  readonly rpcPerUserPerSecond?: number
  /**
   * Apply the per-IP limits to loopback addresses (127.0.0.0/8, ::1) too. Default false: behind a
   * reverse proxy on the same host whose addresses the app does not trust (`trustProxy`), every
   * client looks like 127.0.0.1, and one shared limit would throttle them all.
   */
  readonly limitLoopback?: boolean
}

type Resolved = { readonly [K in Exclude<keyof LimitOptions, 'limitLoopback'>]-?: number }

const DEFAULTS: Resolved = {
  connectionsPerIp: 1000,
  connectionsPerUser: 100,
  connectsPerIpPerSecond: 50,
  publishesPerSecond: 100,
  publishesPerUserPerSecond: 500,
  rpcPerSecond: 100,
  rpcPerUserPerSecond: 500,
}

/** How many times each limit refused something (also counted by the metrics recorder as
 * `limitRefused` with kinds `connections_per_ip`, `connections_per_user`, `connect_rate`,
 * `publish_rate` and `rpc_rate`). */
export interface LimitRefusals {
  connectionsPerIp: number
  connectionsPerUser: number
  connectsPerIp: number
  publishes: number
  rpc: number
}

/**
 * A token bucket: `rate` tokens a second up to `2 × rate`, refilled from the elapsed time when a
 * token is taken, so no timer ever runs for it.
 */
export class TokenBucket {
  tokens: number
  at: number

  constructor(rate: number, now: number) {
    this.tokens = 2 * rate
    this.at = now
  }

  /** Takes one token if there is one. */
  take(rate: number, now: number): boolean {
    const burst = 2 * rate
    this.tokens = Math.min(burst, this.tokens + ((now - this.at) * rate) / 1000)
    this.at = now
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }

  /** Whether the bucket would be full by `now` (so it can be forgotten). */
  full(rate: number, now: number): boolean {
    return this.tokens + ((now - this.at) * rate) / 1000 >= 2 * rate
  }
}

/** The rate buckets of one session or one user, made when it first publishes or calls. */
export interface RateBuckets {
  publish: TokenBucket | null
  rpc: TokenBucket | null
}

interface Address {
  open: number
  readonly connects: TokenBucket
}

function check(name: string, value: unknown): number {
  if (value === Number.POSITIVE_INFINITY) return value
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new SwitchboardError(
      'SWB_ERR_INVALID_OPTION',
      `limits.${name} must be a positive integer or Infinity`,
    )
  }
  return value
}

/**
 * The limits of one hub. Per-IP state lives only while an address has open connections or a
 * recent connect; per-user buckets only while the user publishes or calls; `sweep` (the hub's
 * one-second sweep) forgets the rest.
 */
export class Limiter {
  readonly settings: Resolved
  readonly refused: LimitRefusals = {
    connectionsPerIp: 0,
    connectionsPerUser: 0,
    connectsPerIp: 0,
    publishes: 0,
    rpc: 0,
  }
  readonly #addresses = new Map<string, Address>()
  readonly #users = new Map<string, RateBuckets>()
  readonly #loopback: boolean
  readonly #metrics: RecorderHost

  constructor(options: LimitOptions = {}, metrics: RecorderHost = { recorder: NO_METRICS }) {
    this.#metrics = metrics
    const out: Record<string, number> = {}
    for (const key of Object.keys(DEFAULTS) as (keyof Resolved)[]) {
      out[key] = check(key, options[key] ?? DEFAULTS[key])
    }
    this.settings = Object.freeze(out as Resolved)
    this.#loopback = options.limitLoopback === true
  }

  /**
   * Admits a new connection from `ip` (throws `SWB_ERR_LIMIT_CONNECTIONS` or
   * `SWB_ERR_LIMIT_CONNECT_RATE`, both 429) and counts it open until {@link release}.
   */
  admit(ip: string, now: number): void {
    if (!this.#loopback && isLoopback(ip)) return
    let address = this.#addresses.get(ip)
    if (address === undefined) {
      address = { open: 0, connects: new TokenBucket(this.settings.connectsPerIpPerSecond, now) }
      this.#addresses.set(ip, address)
    }
    if (address.open >= this.settings.connectionsPerIp) {
      this.refused.connectionsPerIp++
      this.#metrics.recorder.limitRefused('connections_per_ip')
      throw new SwitchboardError(
        'SWB_ERR_LIMIT_CONNECTIONS',
        `Too many connections from this address (limit ${this.settings.connectionsPerIp})`,
      )
    }
    if (!address.connects.take(this.settings.connectsPerIpPerSecond, now)) {
      this.refused.connectsPerIp++
      this.#metrics.recorder.limitRefused('connect_rate')
      throw new SwitchboardError('SWB_ERR_LIMIT_CONNECT_RATE')
    }
    address.open++
  }

  /** A connection admitted from `ip` closed. */
  release(ip: string): void {
    const address = this.#addresses.get(ip)
    if (address !== undefined && address.open > 0) address.open--
  }

  /** Refuses a user's connection past `connectionsPerUser` (`open` counts the user's others). */
  admitUser(user: string, open: number): void {
    if (user === '' || open < this.settings.connectionsPerUser) return
    this.refused.connectionsPerUser++
    this.#metrics.recorder.limitRefused('connections_per_user')
    throw new SwitchboardError(
      'SWB_ERR_LIMIT_CONNECTIONS',
      `Too many connections of this user (limit ${this.settings.connectionsPerUser})`,
    )
  }

  /**
   * Takes a token for a publish or an rpc call from the session's buckets (null over HTTP, which
   * has no session) and the user's (anonymous callers have none); throws `SWB_ERR_LIMIT_RATE`.
   */
  take(
    kind: 'publish' | 'rpc',
    session: { buckets: RateBuckets | null } | null,
    user: string,
    now: number,
  ): void {
    const s = this.settings
    const rate = kind === 'publish' ? s.publishesPerSecond : s.rpcPerSecond
    const userRate = kind === 'publish' ? s.publishesPerUserPerSecond : s.rpcPerUserPerSecond
    if (
      session !== null &&
      !takeFrom((session.buckets ??= { publish: null, rpc: null }), kind, rate, now)
    ) {
      this.#refuse(kind)
    }
    if (user === '' || userRate === Number.POSITIVE_INFINITY) return
    let buckets = this.#users.get(user)
    if (buckets === undefined) {
      buckets = { publish: null, rpc: null }
      this.#users.set(user, buckets)
    }
    if (!takeFrom(buckets, kind, userRate, now)) this.#refuse(kind)
  }

  /** Forgets addresses with no open connection and users whose buckets are full again. */
  sweep(now: number): void {
    const s = this.settings
    for (const [ip, a] of this.#addresses) {
      if (a.open === 0 && a.connects.full(s.connectsPerIpPerSecond, now)) this.#addresses.delete(ip)
    }
    for (const [user, b] of this.#users) {
      const idle =
        (b.publish === null || b.publish.full(s.publishesPerUserPerSecond, now)) &&
        (b.rpc === null || b.rpc.full(s.rpcPerUserPerSecond, now))
      if (idle) this.#users.delete(user)
    }
  }

  /** Addresses and users with state now (for tests: the maps stay bounded). */
  get tracked(): { addresses: number; users: number } {
    return { addresses: this.#addresses.size, users: this.#users.size }
  }

  #refuse(kind: 'publish' | 'rpc'): never {
    if (kind === 'publish') this.refused.publishes++
    else this.refused.rpc++
    this.#metrics.recorder.limitRefused(kind === 'publish' ? 'publish_rate' : 'rpc_rate')
    throw new SwitchboardError(
      'SWB_ERR_LIMIT_RATE',
      kind === 'publish' ? 'Too many publishes: slow down' : 'Too many rpc calls: slow down',
    )
  }
}

/** Whether `ip` is a loopback address (IPv4 127/8, IPv6 ::1, or IPv4-mapped 127/8). */
export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.')
}

function takeFrom(b: RateBuckets, kind: 'publish' | 'rpc', rate: number, now: number): boolean {
  if (rate === Number.POSITIVE_INFINITY) return true
  const bucket =
    kind === 'publish'
      ? (b.publish ??= new TokenBucket(rate, now))
      : (b.rpc ??= new TokenBucket(rate, now))
  return bucket.take(rate, now)
}
