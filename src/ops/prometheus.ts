// Prometheus metrics of one app, with prom-client. prom-client is loaded on first use, so an app
// without metrics never loads it. Counters the fan-out path bumps in place (HubStats) are read
// when Prometheus scrapes, through collect callbacks; events off that path come through the
// MetricsRecorder this module implements.
import { createRequire } from 'node:module'
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks'
import type * as Prom from 'prom-client'
import type { Hub } from '../hub/hub.ts'
import type { BrokerOperation, MetricsRecorder, RecoveryOutcome } from '../hub/recorder.ts'
import { CounterSeries, HistogramSeries } from './series.ts'

/** What the metrics read from the app when scraped. */
export interface MetricsSource {
  /** Open connections by transport (every WebSocket and SSE stream of the app). */
  connections(): { websocket: number; sse: number }
  /** The channel hub, when the app has one. */
  hub(): Hub | null
}

/** Options of `app.metrics()` and of the app's `metrics` option. */
export interface MetricsOptions {
  /** Path of the scrape endpoint (GET). Default `'/metrics'`. */
  path?: string
  /**
   * Serve the endpoint on this port, on its own server started by `app.listen()` (keeps metrics
   * off a public port). Default: on the app's own port, as a route.
   */
  port?: number
  /** Interface of the separate metrics server. Default `'127.0.0.1'`. */
  host?: string
  /** Also collect prom-client's process and Node.js metrics (`process_*`, `nodejs_*`). Default false. */
  defaultMetrics?: boolean
  /** Labels added to every metric (`{ node: 'a' }`). Default none. */
  labels?: Record<string, string>
}

const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]

let prom: typeof Prom | null = null
function promClient(): typeof Prom {
  prom ??= createRequire(import.meta.url)('prom-client') as typeof Prom
  return prom
}

/**
 * The Prometheus metrics of an app: a registry of `switchboard_*` metrics and the recorder the
 * app's layers report to. Made by `app.metrics()`; see docs/operations.md for the list.
 *
 * @example
 * const metrics = app.metrics()
 * app.get('/internal/metrics', async (ctx) =>
 *   ctx.send(await metrics.text(), 200, metrics.contentType))
 */
export class PrometheusMetrics implements MetricsRecorder {
  readonly enabled = true
  /** The prom-client registry (register your own metrics on it to serve them together). */
  readonly registry: Prom.Registry
  readonly #disconnects: CounterSeries
  readonly #limits: CounterSeries
  readonly #recoveries: CounterSeries
  readonly #broker: HistogramSeries
  readonly #fanout: HistogramSeries
  readonly #http: CounterSeries
  readonly #httpTime: HistogramSeries
  readonly #rpc: HistogramSeries
  readonly #loop: IntervalHistogram

  constructor(source: MetricsSource, options: MetricsOptions = {}) {
    const p = promClient()
    const registry = new p.Registry()
    this.registry = registry
    if (options.labels !== undefined) registry.setDefaultLabels(options.labels)
    if (options.defaultMetrics === true) p.collectDefaultMetrics({ register: registry })
    const registers = [registry]
    const hubStat = (read: (hub: Hub) => number) => () => {
      const hub = source.hub()
      return hub === null ? 0 : read(hub)
    }
    // Counters read from HubStats: the hub bumps plain numbers, a scrape adds what moved.
    const counted = (name: string, help: string, read: () => number) => {
      let seen = 0
      new p.Counter({
        name,
        help,
        registers,
        collect() {
          const now = read()
          if (now > seen) this.inc(now - seen)
          seen = now
        },
      })
    }
    const gauge = (name: string, help: string, read: () => number) =>
      new p.Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read())
        },
      })

    new p.Gauge({
      name: 'switchboard_connections',
      help: 'Open connections by transport (WebSocket connections and SSE streams).',
      labelNames: ['transport'],
      registers,
      collect() {
        const c = source.connections()
        this.set({ transport: 'websocket' }, c.websocket)
        this.set({ transport: 'sse' }, c.sse)
      },
    })
    gauge(
      'switchboard_sessions',
      'Channel sessions on this node.',
      hubStat((h) => h.connectionCount),
    )
    gauge(
      'switchboard_users',
      'Distinct signed-in users on this node.',
      hubStat((h) => h.userCount),
    )
    gauge(
      'switchboard_channels',
      'Channels with at least one subscriber on this node.',
      hubStat((h) => h.channelCount),
    )
    gauge(
      'switchboard_subscriptions',
      'Channel subscriptions on this node.',
      hubStat((h) => h.subscriptionCount),
    )
    counted(
      'switchboard_publications_total',
      'Publications accepted through this node (duplicates of an idempotency key excluded).',
      hubStat((h) => h.stats.published),
    )
    counted(
      'switchboard_publications_fanned_out_total',
      'Publications this node fanned out to its subscribers, whichever node published them.',
      hubStat((h) => h.stats.fannedOut),
    )
    counted(
      'switchboard_deliveries_total',
      'Publications queued to sessions (one per subscriber reached).',
      hubStat((h) => h.stats.delivered),
    )
    let dropsSeen = { slow_consumer: 0, conflated: 0, limit: 0 }
    new p.Counter({
      name: 'switchboard_dropped_publications_total',
      help: 'Publications that did not reach a session, by reason: slow_consumer (drop-oldest or disconnect policy), conflated (replaced by a newer one with the same key), limit (a recovery buffer was full).',
      labelNames: ['reason'],
      registers,
      collect() {
        const hub = source.hub()
        if (hub === null) return
        const s = hub.stats
        const now = {
          slow_consumer: s.dropped - s.conflated,
          conflated: s.conflated,
          limit: s.limitDropped,
        }
        for (const reason of ['slow_consumer', 'conflated', 'limit'] as const) {
          this.inc({ reason }, Math.max(0, now[reason] - dropsSeen[reason]))
        }
        dropsSeen = now
      },
    })
    counted(
      'switchboard_gaps_total',
      'Gap markers sent to sessions (publications a session will not get, announced).',
      hubStat((h) => h.stats.gaps),
    )
    gauge(
      'switchboard_broker_healthy',
      'Whether the broker works end to end (1) or not (0).',
      () => {
        const hub = source.hub()
        return hub === null || hub.brokerHealth().healthy ? 1 : 0
      },
    )
    // Recorded as events happen: plain numbers, given to the registry when it is scraped.
    this.#disconnects = new CounterSeries(
      registry,
      'switchboard_disconnects_total',
      'Sessions ended, by the disconnect code the server sent, or "client" when the client went away first.',
      ['code'],
    )
    this.#limits = new CounterSeries(
      registry,
      'switchboard_limit_refusals_total',
      'Requests a limit refused, by limit.',
      ['limit'],
    )
    this.#recoveries = new CounterSeries(
      registry,
      'switchboard_recoveries_total',
      'Resubscribes with a position, by outcome: recovered (every missed publication) or not_recovered.',
      ['outcome'],
    )
    this.#recoveries.zero('recovered')
    this.#recoveries.zero('not_recovered')
    this.#fanout = new HistogramSeries(
      registry,
      'switchboard_publish_to_deliver_seconds',
      'From the broker storing a publication to this node handing it to its subscribers (clock of the storing node; millisecond resolution).',
      [],
      LATENCY_BUCKETS,
    )
    this.#broker = new HistogramSeries(
      registry,
      'switchboard_broker_call_duration_seconds',
      'Broker calls by operation (publish, history, presence, control) and outcome (ok, error).',
      ['operation', 'outcome'],
      LATENCY_BUCKETS,
    )
    this.#http = new CounterSeries(
      registry,
      'switchboard_http_requests_total',
      'HTTP requests answered, by method, route pattern and status.',
      ['method', 'route', 'status'],
    )
    this.#httpTime = new HistogramSeries(
      registry,
      'switchboard_http_request_duration_seconds',
      'HTTP request durations, by method and route pattern.',
      ['method', 'route'],
      LATENCY_BUCKETS,
    )
    this.#rpc = new HistogramSeries(
      registry,
      'switchboard_rpc_duration_seconds',
      'Rpc calls by method and outcome (ok, error).',
      ['method', 'outcome'],
      LATENCY_BUCKETS,
    )
    const loop = monitorEventLoopDelay({ resolution: 10 })
    loop.enable()
    this.#loop = loop
    new p.Gauge({
      name: 'switchboard_event_loop_delay_seconds',
      help: 'Event-loop delay since the previous scrape: quantile 0.5, 0.99 and 1 (the maximum).',
      labelNames: ['quantile'],
      registers,
      collect() {
        const h = loop
        const s = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0)
        this.set({ quantile: '0.5' }, s(h.percentile(50)))
        this.set({ quantile: '0.99' }, s(h.percentile(99)))
        this.set({ quantile: '1' }, s(h.max))
        h.reset()
      },
    })
  }

  /** The content type of {@link text}. */
  get contentType(): string {
    return this.registry.contentType
  }

  /** Every metric in the Prometheus text format (what a scrape answers). */
  text(): Promise<string> {
    return this.registry.metrics()
  }

  /** Stops the event-loop monitor (the app's close does it). */
  stop(): void {
    this.#loop.disable()
  }

  // ---- MetricsRecorder ------------------------------------------------------------------

  disconnect(code: number | 'client'): void {
    this.#disconnects.inc(String(code))
  }

  limitRefused(kind: string): void {
    this.#limits.inc(kind)
  }

  recovery(outcome: RecoveryOutcome): void {
    this.#recoveries.inc(outcome)
  }

  brokerCall(operation: BrokerOperation, seconds: number, ok: boolean): void {
    this.#broker.observe(seconds, operation, ok ? 'ok' : 'error')
  }

  fannedOut(seconds: number): void {
    this.#fanout.observe(Math.max(seconds, 0))
  }

  httpRequest(method: string, route: string, status: number, seconds: number): void {
    const r = route === '' ? 'none' : route
    this.#http.inc(method, r, String(status))
    this.#httpTime.observe(seconds, method, r)
  }

  rpc(method: string, ok: boolean, seconds: number): void {
    this.#rpc.observe(seconds, method, ok ? 'ok' : 'error')
  }
}
