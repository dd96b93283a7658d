// The metrics seam: what the layers tell metrics about events that are not on the fan-out path.
// Per-delivery counts never come through here; they are counters in `HubStats`, read when
// metrics are scraped. The default recorder does nothing, so code calls it unconditionally.

/** Why publications were dropped on their way to a session. */
export type DropReason = 'slow_consumer' | 'conflated' | 'limit'

/** How a resubscribe with `since` ended: every missed publication, or `recovered: false`. */
export type RecoveryOutcome = 'recovered' | 'not_recovered'

/** The broker calls that are timed. */
export type BrokerOperation = 'publish' | 'history' | 'presence' | 'control'

/**
 * Receives the events metrics count. Every method is cheap and called at most once per
 * connection, command, publication or HTTP request, never once per delivery. Metrics (the
 * Prometheus ones of `app.metrics()`, or your own) implement it; the default does nothing.
 *
 * @example
 * // a limit refusing an upgrade (the kind becomes the `limit` label)
 * app.recorder.limitRefused('connections_per_ip')
 */
export interface MetricsRecorder {
  /** Whether anything records. Callers may skip measuring (a clock read) when false. */
  readonly enabled: boolean
  /** A session ended: the disconnect or close code the server sent, or `'client'` when the
   * client (or its network) went away first. */
  disconnect(code: number | 'client'): void
  /** A limit refused something: a connection, an upgrade, a publish, an rpc, a subscription.
   * `kind` names the limit (`'connections_per_ip'`, `'publish_rate'`, `'subscriptions'`…). */
  limitRefused(kind: string): void
  /** A resubscribe with `since` recovered everything, or answered `recovered: false`. */
  recovery(outcome: RecoveryOutcome): void
  /** A broker call finished after `seconds`; `ok` false when it threw. */
  brokerCall(operation: BrokerOperation, seconds: number, ok: boolean): void
  /** A publication was handed to this node's subscribers `seconds` after the broker stored it
   * (once per publication, whatever the number of subscribers). */
  fannedOut(seconds: number): void
  /** An HTTP request finished: its route pattern (`'/users/:id'`, or `''` when no route took
   * it), its method and status, and how long it took. */
  httpRequest(method: string, route: string, status: number, seconds: number): void
  /** An rpc call finished (`ok` false when it answered an error). */
  rpc(method: string, ok: boolean, seconds: number): void
}

/** The recorder of an app without metrics: records nothing. */
export const NO_METRICS: MetricsRecorder = Object.freeze({
  enabled: false,
  disconnect() {},
  limitRefused() {},
  recovery() {},
  brokerCall() {},
  fannedOut() {},
  httpRequest() {},
  rpc() {},
})
