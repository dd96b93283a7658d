import { SwitchboardError } from '../errors/index.ts'
import type { Middleware } from './compose.ts'
import { Routable } from './routable.ts'
import type { GroupRecord } from './router.ts'

/** Where a group sends its routes: the app that owns it. */
export interface GroupHost {
  registerRoute(
    method: string,
    path: string,
    args: readonly unknown[],
    group: GroupRecord | null,
  ): void
  invalidateRoutes(): void
}

/** Joins a prefix and a path without doubling or dropping the slash. */
export function joinPath(prefix: string, path: string): string {
  if (prefix === '' || prefix === '/') return path
  if (path === '/' || path === '') return prefix
  return prefix.endsWith('/') ? prefix + path.slice(1) : prefix + path
}

/**
 * A set of routes under a common prefix, with middleware of its own that runs inside the
 * app's middleware and outside each route's. Groups nest.
 *
 * @example
 * const api = app.group('/api')
 * api.use(requireUser)
 * api.get('/me', (ctx) => ctx.json(ctx.state.user))
 */
export class RouteGroup<S> extends Routable<S> {
  readonly record: GroupRecord
  readonly #host: GroupHost

  constructor(host: GroupHost, prefix: string, parent: GroupRecord | null) {
    super()
    if (!prefix.startsWith('/'))
      throw new SwitchboardError(
        'SWB_ERR_INVALID_ROUTE',
        `Group prefix must start with "/": ${prefix}`,
      )
    this.#host = host
    this.record = {
      prefix: parent ? joinPath(parent.prefix, prefix) : prefix,
      parent,
      middleware: [],
    }
  }

  /** Adds middleware for every route of this group (also routes added earlier). */
  use(...middleware: Middleware<S>[]): this {
    this.record.middleware.push(...middleware)
    this.#host.invalidateRoutes()
    return this
  }

  /** A nested group. */
  group(prefix: string, define?: (group: RouteGroup<S>) => void): RouteGroup<S> {
    const g = new RouteGroup<S>(this.#host, prefix, this.record)
    define?.(g)
    return g
  }

  protected addRoute(method: string, path: string, args: readonly unknown[]): void {
    this.#host.registerRoute(method, joinPath(this.record.prefix, path), args, this.record)
  }
}
