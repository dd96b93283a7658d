// Liveness and readiness endpoints for load balancers and orchestrators.
import type { Context } from './http/context.ts'
import type { Readiness } from './lifecycle.ts'

/** Paths of the health endpoints (`app.health()`). */
export interface HealthPaths {
  /** Liveness: 200 while the process serves requests. Default `/livez`. */
  readonly live?: string
  /** Readiness: 200 when the node should get traffic, 503 when not. Default `/readyz`. */
  readonly ready?: string
}

/** What the health endpoints need of an app. */
interface HealthHost {
  get(path: string, handler: (ctx: Context) => unknown): unknown
  readiness(): Readiness
}

/**
 * Mounts `GET live` (always 200 `{ status: 'ok' }`: the event loop answers) and `GET ready`
 * (200 or 503 with `{ ready, state, checks }`; `Cache-Control: no-store`).
 */
export function mountHealth(host: HealthHost, paths: HealthPaths): void {
  host.get(paths.live ?? '/livez', (ctx) => {
    ctx.header('cache-control', 'no-store')
    return ctx.json({ status: 'ok' })
  })
  host.get(paths.ready ?? '/readyz', (ctx) => {
    const readiness = host.readiness()
    ctx.header('cache-control', 'no-store')
    return ctx.status(readiness.ready ? 200 : 503).json(readiness)
  })
}
