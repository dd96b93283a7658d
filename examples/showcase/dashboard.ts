// The live metrics dashboard: each node samples its own health once a second from ONE interval
// and publishes it on its own channel, `metrics:<node>`, so the nodes of a cluster never mix
// their figures; clients cannot publish there. Built only on the public API.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { Switchboard } from 'switchboard'
import { SwitchboardError } from 'switchboard'

/** The node name of a dashboard given none, and the channel it then publishes on. */
export const DEFAULT_NODE = 'server'
export const METRICS_CHANNEL = `metrics:${DEFAULT_NODE}`

/** One sample, as published on `metrics:<node>`: `at` (ms since the Unix epoch); the event-loop
 * delay over the last interval in ms (its 20 ms sampling resolution subtracted, so an idle loop
 * reads about 0); RSS and V8 heap in bytes; live sessions; publications (the dashboard's own
 * excluded) and deliveries per second over the last interval. */
export type MetricsSample = Readonly<Record<Metric | Rates | 'at', number>>
type Metric = `loopDelay${'Mean' | 'P99' | 'Max'}Ms` | 'rssBytes' | 'heapUsedBytes' | 'connections'
type Rates = 'publicationsPerSecond' | 'deliveriesPerSecond'

/** Options of `mountDashboard`: ms between samples (default 1000, at least 100); samples kept
 * as history so a new page starts with a full sparkline (default 120); this node's name, 1 to 64
 * of `A-Z a-z 0-9 _ . -` (default `'server'`; give every node of a cluster its own). */
export interface DashboardOptions {
  readonly interval?: number
  readonly historySize?: number
  readonly node?: string
}

/** The running sampler: its node and channel, samples published; `stop()` ends it (the app's
 * close does too). */
export type DashboardHandle = Readonly<
  Pick<Sampler, 'node' | 'channel' | 'running' | 'published'>
> &
  Pick<Sampler, 'stop'>

const NODE = /^[A-Za-z0-9_.-]{1,64}$/
/** Sampling resolution of the event-loop histogram, in ms (a 50 Hz timer: cheap, and fine enough). */
const RESOLUTION_MS = 20

/** The histogram records how long each 20 ms timer really took: the delay is what is left. */
function delayMs(ns: number): number {
  if (!Number.isFinite(ns)) return 0
  return Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 100) / 100)
}

/** Owns the interval and the event-loop histogram; one per app. */
class Sampler {
  readonly channel: string
  readonly #app: Switchboard
  readonly #histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  readonly #timer: NodeJS.Timeout
  running = true
  published = 0
  /** This sampler's publications the hub has counted, and that count at the last sample. */
  #own = 0
  #lastOwn = 0
  #lastAt = performance.now()
  #lastPublished: number
  #lastDelivered: number

  constructor(
    app: Switchboard,
    interval: number,
    readonly node: string,
  ) {
    this.channel = `metrics:${node}`
    this.#app = app
    this.#histogram.enable()
    ;({ published: this.#lastPublished, delivered: this.#lastDelivered } = app.hub.stats)
    this.#timer = setInterval(this.tick, interval)
  }

  readonly tick = (): void => {
    if (!this.running) return
    const sample = this.sample()
    this.published++
    this.#app.hub.publish(this.channel, sample).then(() => this.#own++, this.#failed)
  }

  readonly #failed = (err: unknown): void => {
    // The hub closes before the app's close hooks stop the sampler: that refusal is expected.
    if ((err as { code?: unknown } | null)?.code === 'SWB_ERR_HUB_CLOSED' || !this.running) return
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
    if (!this.running) return
    this.running = false
    clearInterval(this.#timer)
    this.#histogram.disable()
  }
}

/** Declares `metrics` (server-only publishing, history kept twice the page's window so a page
 * finds all of it), starts the one sampling interval (stopped when the app closes), and serves
 * `/dashboard` and `/api/metrics` (`{ node, channel }`). `mountDashboard(app, { node: 'web-1' })` */
export function mountDashboard(app: Switchboard, options: DashboardOptions = {}): DashboardHandle {
  const { interval = 1000, historySize = 120, node = DEFAULT_NODE } = options
  for (const [ok, what] of [
    [
      Number.isInteger(interval) && interval >= 100,
      'interval must be an integer of at least 100 ms',
    ],
    [typeof node === 'string' && NODE.test(node), 'node must be 1 to 64 of A-Z a-z 0-9 _ . -'],
    [Number.isInteger(historySize) && historySize >= 1, 'historySize must be a positive integer'],
  ] as const) {
    if (!ok) throw new SwitchboardError('SWB_ERR_INVALID_OPTION', `mountDashboard: ${what}`)
  }
  app.channels.namespace('metrics', {
    historySize,
    historyTtl: 2 * historySize * interval,
    clientPublish: false,
    slowConsumer: 'drop-oldest',
  })
  const page = new URL('./public/dashboard.html', import.meta.url).pathname
  app.get('/dashboard', (ctx) => ctx.file(page))
  const sampler = new Sampler(app, interval, node)
  app.get('/api/metrics', () => ({ node, channel: sampler.channel }))
  app.onClose(sampler.stop)
  return sampler
}
