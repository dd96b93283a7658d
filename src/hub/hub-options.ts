import type { Broker } from '../broker/index.ts'
import { SwitchboardError } from '../errors/index.ts'
import type { ClientInfo } from '../protocol/index.ts'
import type { ConnectHook } from './auth.ts'
import type { LimitOptions } from './limits.ts'
import type { NamespaceOptions } from './namespace.ts'
import type { HubLogger } from './report.ts'
import type { SessionLimits } from './session.ts'

/** Options of a {@link Hub}; every limit has a safe default. */
export interface HubOptions {
  /** Storage and cross-node delivery. Default: a new {@link MemoryBroker}. */
  broker?: Broker
  /** Verifies credentials (`jwtAuth(...)` or a custom hook). Default: everyone connects as the
   * anonymous user `''`. */
  auth?: ConnectHook
  /** Namespaces declared up front (same as calling `hub.namespace`). The default namespace `''`
   * exists with default options unless given here. */
  namespaces?: Record<string, NamespaceOptions>
  /** Secret shared by all nodes for stream tickets (≥ 16 bytes). Default: random per process. */
  ticketSecret?: string
  /** Bytes queued per session before the slow-consumer policy applies. Default 1 MiB. */
  maxOutboxBytes?: number
  /**
   * Milliseconds a session's frames may wait to be written with the ones that follow, 0 to 1000.
   * Default 0: each session is written once per event-loop turn, with everything queued in that
   * turn. With N > 0, everything queued within N ms of the first frame (publications and replies
   * alike) goes out in one write per session: fewer system calls for channels that publish many
   * times a second, for up to N ms more latency. One timer per hub, none per connection.
   */
  writeDelay?: number
  /** Largest inbound command in bytes. Default 65 536. */
  maxCommandBytes?: number
  /** Subscriptions per session. Default 128. */
  maxSubscriptions?: number
  /** Channels per SSE stream. Default 32. */
  maxStreamChannels?: number
  /** Commands of one connection processed at once (more get SWB_ERR_PROTOCOL_TOO_MANY_REQUESTS).
   * Default 64. */
  maxInflight?: number
  /** Milliseconds an rpc handler has to settle before the caller is answered
   * `SWB_ERR_RPC_TIMEOUT` (504) and the session's in-flight slot is freed. Checked by the hub's
   * sweep, so the answer comes up to `sweepInterval` later. Default 30 000. */
  rpcTimeout?: number
  /** Largest `limit` of a history command. Default 1000. */
  maxHistoryLimit?: number
  /** Milliseconds a new WebSocket session has to send `connect`. Default 10 000. */
  connectTimeout?: number
  /** Milliseconds between checks of token expiry, connect timeouts and rpc timeouts. Default 1000. */
  sweepInterval?: number
  /** Clock (ms), for tests. Default `Date.now`. */
  now?: () => number
  /** Connection and rate limits (per IP, per user, per session); each has a safe default. */
  limits?: LimitOptions
  /** Called with errors the hub catches that are not a client's refusal: broker failures in
   * fan-out, throwing hooks and rpc handlers (the client got SWB_ERR_HUB_INTERNAL or
   * SWB_ERR_RPC_FAILED). */
  onError?: (error: unknown) => void
  /** Where caught errors are logged with their session, user, channel and code (`app.channels`
   * gives the app's pino logger). Default: none. See docs/operations.md#logging. */
  logger?: HubLogger
}

/** Options of `hub.publish`. */
export interface HubPublishOptions {
  /** A retried publish with the same key is applied once. */
  idempotencyKey?: string
  /** Conflation key. */
  key?: string
  /** Publisher shown to subscribers. */
  info?: ClientInfo
}

/** Counters of one hub, bumped in place on the fan-out path (metrics read them when scraped). */
export interface HubStats {
  /** Publications accepted through this hub. */
  published: number
  /** Publications this node fanned out to its subscribers (from any node). */
  fannedOut: number
  /** Publication frames queued to sessions. */
  delivered: number
  /** Publications dropped by slow-consumer policies (`conflated` included). */
  dropped: number
  /** Of `dropped`: publications replaced by a newer one with the same key (`conflate`). */
  conflated: number
  /** Publications left out because a bound was reached (a subscription's recovery buffer). */
  limitDropped: number
  /** Gap markers sent to sessions. */
  gaps: number
}

/** A new {@link HubStats}, every counter at 0. */
export function newStats(): HubStats {
  return {
    published: 0,
    fannedOut: 0,
    delivered: 0,
    dropped: 0,
    conflated: 0,
    limitDropped: 0,
    gaps: 0,
  }
}

/** A hub's limits, each checked and given its default. */
export interface HubLimits {
  readonly session: SessionLimits
  readonly maxStreamChannels: number
  readonly maxHistoryLimit: number
  readonly connectTimeout: number
  readonly rpcTimeout: number
  readonly sweepInterval: number
  /** `writeDelay`: 0 (end of the event-loop turn) or milliseconds. */
  readonly writeDelay: number
}

/** Checks the numeric options of a hub (positive integers) and fills in their defaults. */
export function resolveLimits(options: HubOptions): HubLimits {
  const positive = (name: keyof HubOptions, fallback: number): number => {
    const v = options[name] ?? fallback
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new SwitchboardError(
        'SWB_ERR_INVALID_OPTION',
        `Hub option ${name} must be a positive integer`,
      )
    }
    return v
  }
  return {
    session: Object.freeze({
      maxOutboxBytes: positive('maxOutboxBytes', 1 << 20),
      maxCommandBytes: positive('maxCommandBytes', 65_536),
      maxSubscriptions: positive('maxSubscriptions', 128),
      maxRecoveryBuffer: 10_000,
      maxInflight: positive('maxInflight', 64),
    }),
    maxStreamChannels: positive('maxStreamChannels', 32),
    maxHistoryLimit: positive('maxHistoryLimit', 1000),
    connectTimeout: positive('connectTimeout', 10_000),
    rpcTimeout: positive('rpcTimeout', 30_000),
    sweepInterval: positive('sweepInterval', 1000),
    writeDelay: writeDelayOf(options.writeDelay),
  }
}

/** Longest `writeDelay`: past a second, a "live" update is no longer live. */
export const MAX_WRITE_DELAY = 1000

function writeDelayOf(v: unknown): number {
  if (v === undefined) return 0
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_WRITE_DELAY) {
    throw new SwitchboardError(
      'SWB_ERR_INVALID_OPTION',
      `Hub option writeDelay must be an integer from 0 to ${MAX_WRITE_DELAY} (milliseconds)`,
    )
  }
  return v
}
