import { createServer, type Server } from 'node:http'
import type { Context } from '../http/context.ts'
import type { MetricsOptions, PrometheusMetrics } from './prometheus.ts'

/** What `mountMetrics` needs of an app. */
interface MetricsHost {
  metrics(options?: MetricsOptions): PrometheusMetrics
  get(path: string, handler: (ctx: Context) => unknown): unknown
}

/**
 * The app's `metrics` option: turns metrics on and serves them as `GET <path>` on the app, or,
 * with `port`, returns where `app.listen()` starts their own server (`serveMetrics`).
 */
export function mountMetrics(
  host: MetricsHost,
  option: boolean | MetricsOptions,
): { port: number; host: string; path: string } | null {
  if (option === false) return null
  const options: MetricsOptions = option === true ? {} : option
  const metrics = host.metrics(options)
  const path = options.path ?? '/metrics'
  if (options.port !== undefined) {
    return { port: options.port, host: options.host ?? '127.0.0.1', path }
  }
  host.get(path, async (ctx) => ctx.send(await metrics.text(), 200, metrics.contentType))
  return null
}

/**
 * A node:http server of its own that answers `GET <path>` with the metrics (and 404 otherwise),
 * for the `metrics: { port }` option: Prometheus scrapes a port the public never reaches.
 * Resolves once it listens.
 */
export async function serveMetrics(
  metrics: PrometheusMetrics,
  where: { port: number; host: string; path: string },
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0]
    if (path !== where.path || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not Found')
      return
    }
    metrics.text().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.contentType })
        res.end(req.method === 'HEAD' ? undefined : text)
      },
      () => res.writeHead(500).end(),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(where.port, where.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return server
}
