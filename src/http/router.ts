import FindMyWay from 'find-my-way'
import { SwitchboardError } from '../errors/index.ts'
import { compose, type Handler, type Middleware } from './compose.ts'
import type { Context } from './context.ts'

/** A per-route hook run before (`pre`) or after (`post`) the handler. */
// biome-ignore lint/suspicious/noExplicitAny: the erased state type (see compose.ts)
export type Hook<S = any> = (ctx: Context<S>) => void | Promise<void>

/** Options of one route. */
// biome-ignore lint/suspicious/noExplicitAny: the erased state type (see compose.ts)
export interface RouteOptions<S = any> {
  /** Onion middleware for this route only, inside the app's and the group's. */
  readonly middleware?: readonly Middleware<S>[]
  /** Hooks run before the handler; if one produces a response, the handler is skipped. */
  readonly pre?: readonly Hook<S>[]
  /** Hooks run after the handler (also when a pre hook answered), before the response is written. */
  readonly post?: readonly Hook<S>[]
  /** Body limit in bytes for this route; overrides the app's `bodyLimit`. */
  readonly bodyLimit?: number
}

/** A registered route. `run` is resolved at compile time: the whole chain as one function. */
export interface RouteRecord {
  readonly method: string
  readonly path: string
  readonly handler: Handler
  readonly options: RouteOptions
  readonly group: GroupRecord | null
  /** Extra data for non-HTTP routes (the WebSocket layer keeps its route here). */
  readonly meta: unknown
  run: Handler
  bodyLimit: number | undefined
}

/** A route group: a prefix and its own middleware, nested in a parent group or the app. */
export interface GroupRecord {
  readonly prefix: string
  readonly parent: GroupRecord | null
  readonly middleware: Middleware[]
}

/** The methods `app.all()` registers. */
export const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

function withHooks(
  pre: readonly Hook[] | undefined,
  handler: Handler,
  post: readonly Hook[] | undefined,
): Handler {
  const hasPre = pre !== undefined && pre.length > 0
  const hasPost = post !== undefined && post.length > 0
  if (!hasPre && !hasPost) return handler
  return async function hooked(ctx: Context) {
    if (hasPre) {
      for (const hook of pre) {
        await hook(ctx)
        if (ctx.finalized) break
      }
    }
    if (!ctx.finalized) ctx.adopt(await handler(ctx))
    if (hasPost) for (const hook of post) await hook(ctx)
  }
}

/**
 * Routes requests to records through find-my-way (a radix tree). Chains are composed once per
 * route when the table is compiled (at the first request after any registration), never per
 * request; a route with no middleware and no hooks runs its handler directly.
 */
export class Router {
  readonly #fmw = FindMyWay({
    ignoreTrailingSlash: false,
    caseSensitive: true,
    maxParamLength: 500,
  })
  readonly #routes: RouteRecord[] = []
  readonly #methods = new Set<string>()
  #dirty = true

  add(
    method: string,
    path: string,
    handler: Handler,
    options: RouteOptions,
    group: GroupRecord | null,
    meta?: unknown,
  ): RouteRecord {
    if (typeof handler !== 'function') {
      throw new SwitchboardError(
        'SWB_ERR_INVALID_ROUTE',
        `The handler of ${method} ${path} is not a function`,
      )
    }
    if (!path.startsWith('/') && path !== '*') {
      throw new SwitchboardError('SWB_ERR_INVALID_ROUTE', `Route path must start with "/": ${path}`)
    }
    const record: RouteRecord = {
      method,
      path,
      handler,
      options,
      group,
      meta,
      run: handler,
      bodyLimit: options.bodyLimit,
    }
    try {
      this.#fmw.on(method as FindMyWay.HTTPMethod, path, () => {}, record)
    } catch (cause) {
      throw new SwitchboardError(
        'SWB_ERR_INVALID_ROUTE',
        `Cannot register ${method} ${path}: ${(cause as Error).message}`,
        {
          cause,
        },
      )
    }
    this.#routes.push(record)
    this.#methods.add(method)
    this.#dirty = true
    return record
  }

  /** Marks chains stale (middleware was added); they are composed again before the next lookup. */
  invalidate(): void {
    this.#dirty = true
  }

  /** Composes every route's chain: app middleware, then each enclosing group's, then the route's. */
  compile(global: readonly Middleware[]): void {
    if (!this.#dirty) return
    for (const r of this.#routes) {
      const chain: Middleware[] = [...global]
      const groups: GroupRecord[] = []
      for (let g = r.group; g; g = g.parent) groups.unshift(g)
      for (const g of groups) chain.push(...g.middleware)
      if (r.options.middleware) chain.push(...r.options.middleware)
      r.run = compose(chain, withHooks(r.options.pre, r.handler, r.options.post))
    }
    this.#fmw.compile?.()
    this.#dirty = false
  }

  get dirty(): boolean {
    return this.#dirty
  }

  /** Finds the route for a method and path, or null. */
  find(
    method: string,
    path: string,
  ): { record: RouteRecord; params: Record<string, string> } | null {
    const found = this.#fmw.find(method as FindMyWay.HTTPMethod, path)
    if (found === null) return null
    return { record: found.store as RouteRecord, params: found.params as Record<string, string> }
  }

  /** The methods registered for a path (for 405 `Allow` and automatic OPTIONS). */
  allowed(path: string): string[] {
    const out: string[] = []
    for (const m of this.#methods) if (this.#fmw.find(m as FindMyWay.HTTPMethod, path)) out.push(m)
    if (out.includes('GET') && !out.includes('HEAD')) out.push('HEAD')
    if (out.length > 0 && !out.includes('OPTIONS')) out.push('OPTIONS')
    return out
  }

  get routes(): readonly RouteRecord[] {
    return this.#routes
  }
}
