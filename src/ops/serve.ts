import { createServer, type Server } from 'node:http'
import type { PrometheusMetrics } from './prometheus.ts'

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
