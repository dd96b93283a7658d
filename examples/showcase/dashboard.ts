// The live metrics dashboard demo: each node samples its own health once a second from ONE
// shared interval and publishes it on its own channel, `metrics:<node>` (`metrics:server` unless
// named), so the nodes of a cluster never mix their figures; a page asks `/api/metrics` which node
// it is on and draws a sparkline per metric. Clients cannot publish there. Built only on the
// public API.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { Switchboard } from 'switchboard'
import { SwitchboardError } from 'switchboard'

/** The node name of a dashboard given none. */
export const DEFAULT_NODE = 'server'
/** The channel the dashboard publishes on when the node has no name. */
export const METRICS_CHANNEL = `metrics:${DEFAULT_NODE}`

/** One sample, as published on `metrics:<node>`. Every field but `at` is a plain number. */
export interface MetricsSample {
  /** Milliseconds since the Unix epoch when the sample was taken. */
  readonly at: number
  /** Event-loop delay over the last interval, in ms (perf_hooks `monitorEventLoopDelay`, its
   * 20 ms sampling resolution subtracted, so an idle loop reads close to 0). */
  readonly loopDelayMeanMs: number
  readonly loopDelayP99Ms: number
  readonly loopDelayMaxMs: number
  /** Resident set size and V8 heap in use, in bytes. */
  readonly rssBytes: number
  readonly heapUsedBytes: number
  /** Live WebSocket and SSE sessions on this node. */
  readonly connections: number
  /** Publications per second on this node over the last interval, the dashboard's own excluded. */
  readonly publicationsPerSecond: number
  /** Publications handed to subscribers per second over the last interval. */
  readonly deliveriesPerSecond: number
}

/** Options of `mountDashboard`. */
export interface DashboardOptions {
  /** Milliseconds between samples. Default 1000; at least 100. */
  readonly interval?: number
  /** Samples kept as history, so a new page starts with a full sparkline. Default 120. */
  readonly historySize?: number
  /** This node's name: 1 to 64 of `A-Z a-z 0-9 _ . -`; samples go on `metrics:<node>`.
   * Default `'server'`. Give every node of a cluster its own. */
  readonly node?: string
}

/** The running sampler: `stop()` ends it (the app's close does that by itself). */
export interface DashboardHandle {
  /** This node's name, and the channel its samples go on. */
  readonly node: string
  readonly channel: string
  readonly running: boolean
  /** Samples published so far. */
  readonly published: number
  stop(): void
}

const NODE = /^[A-Za-z0-9_.-]{1,64}$/
const NS_PER_MS = 1e6
/** Sampling resolution of the event-loop histogram, in ms (a 50 Hz timer: cheap, and fine enough). */
const RESOLUTION_MS = 20

/**
 * The histogram records how long each `RESOLUTION_MS` timer really took, so an idle loop reads
 * about 20 ms; the delay is what is left after the resolution.
 */
function delayMs(ns: number): number {
  if (!Number.isFinite(ns)) return 0
  return Math.max(0, Math.round((ns / NS_PER_MS - RESOLUTION_MS) * 100) / 100)
}

/** Owns the interval and the event-loop histogram; one per app. */
class Sampler implements DashboardHandle {
  readonly node: string
  readonly channel: string
  readonly #app: Switchboard
  readonly #histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  readonly #timer: NodeJS.Timeout
  #running = true
  #published = 0
  /** This sampler's publications the hub has counted, and that count at the last sample. */
  #own = 0
  #lastOwn = 0
  #lastAt = performance.now()
  #lastPublished = 0
  #lastDelivered = 0

  constructor(app: Switchboard, interval: number, node: string) {
    this.node = node
    this.channel = `metrics:${node}`
    this.#app = app
    this.#histogram.enable()
    const stats = app.hub.stats
    this.#lastPublished = stats.published
    this.#lastDelivered = stats.delivered
    this.#timer = setInterval(this.tick, interval)
  }

  get running(): boolean {
    return this.#running
  }

  get published(): number {
    return this.#published
  }

  /** Takes a sample, resets the histogram for the next interval, and publishes the sample. */
  readonly tick = (): void => {
    if (!this.#running) return
    const sample = this.sample()
    this.#published++
    this.#app.hub.publish(this.channel, sample).then(this.#counted, this.#failed)
  }

  readonly #counted = (): void => {
    this.#own++
  }

  readonly #failed = (err: unknown): void => {
    // The hub closes before the app's close hooks stop the sampler: that refusal is expected.
    if ((err as { code?: unknown } | null)?.code === 'SWB_ERR_HUB_CLOSED' || !this.#running) return
    this.#app.log.warn({ err }, 'dashboard: metrics publish failed')
  }

  sample(): MetricsSample {
    const now = performance.now()
    const seconds = Math.max((now - this.#lastAt) / 1000, 0.001)
    const h = this.#histogram
    const empty = h.count === 0
    const stats = this.#app.hub.stats
    // The samples this sampler published are counted in `published`; leave them out.
    const published = stats.published - this.#lastPublished - (this.#own - this.#lastOwn)
    const delivered = stats.delivered - this.#lastDelivered
    const memory = process.memoryUsage()
    const sample: MetricsSample = {
      at: Date.now(),
      loopDelayMeanMs: empty ? 0 : delayMs(h.mean),
      loopDelayP99Ms: empty ? 0 : delayMs(h.percentile(99)),
      loopDelayMaxMs: empty ? 0 : delayMs(h.max),
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      connections: this.#app.hub.connectionCount,
      publicationsPerSecond: Math.round((published / seconds) * 10) / 10,
      deliveriesPerSecond: Math.round((delivered / seconds) * 10) / 10,
    }
    h.reset()
    this.#lastAt = now
    this.#lastPublished = stats.published
    this.#lastDelivered = stats.delivered
    this.#lastOwn = this.#own
    return sample
  }

  readonly stop = (): void => {
    if (!this.#running) return
    this.#running = false
    clearInterval(this.#timer)
    this.#histogram.disable()
  }
}

/**
 * Declares the `metrics` namespace (server-only publishing, a short history), starts the one
 * sampling interval, stops it when the app closes, and serves `/dashboard` and `/api/metrics`
 * (`{ node, channel }`: which node the page is on and where its samples are).
 *
 * @example
 * const dashboard = mountDashboard(app, { interval: 1000, node: 'web-1' })
 * // later, if the app is not closed: dashboard.stop()
 */
export function mountDashboard(app: Switchboard, options: DashboardOptions = {}): DashboardHandle {
  const interval = options.interval ?? 1000
  const historySize = options.historySize ?? 120
  const node = options.node ?? DEFAULT_NODE
  if (!Number.isInteger(interval) || interval < 100) {
    throw new SwitchboardError(
      'SWB_ERR_INVALID_OPTION',
      'mountDashboard: interval must be an integer of at least 100 ms',
    )
  }
  if (typeof node !== 'string' || !NODE.test(node)) {
    throw new SwitchboardError(
      'SWB_ERR_INVALID_OPTION',
      'mountDashboard: node must be 1 to 64 of A-Z a-z 0-9 _ . -',
    )
  }
  if (!Number.isInteger(historySize) || historySize < 1) {
    throw new SwitchboardError(
      'SWB_ERR_INVALID_OPTION',
      'mountDashboard: historySize must be a positive integer',
    )
  }
  app.channels.namespace('metrics', {
    historySize,
    historyTtl: historySize * interval,
    clientPublish: false,
    slowConsumer: 'drop-oldest',
  })
  app.get('/dashboard', (ctx) =>
    ctx.file(new URL('./public/dashboard.html', import.meta.url).pathname),
  )
  const sampler = new Sampler(app, interval, node)
  app.get('/api/metrics', () => ({ node, channel: sampler.channel }))
  app.onClose(sampler.stop)
  return sampler
}
