import { SwitchboardError } from '../errors/index.ts'
import type { Handler, Middleware } from './compose.ts'
import type { RouteOptions } from './router.ts'

/** What can follow a path: a handler; options and a handler; or middleware then a handler. */
export type RouteArgs<S> =
  | [Handler<S>]
  | [RouteOptions<S>, Handler<S>]
  | [...Middleware<S>[], Handler<S>]

/** Splits route arguments into options and handler (middleware before the handler go into options). */
export function parseRouteArgs(
  method: string,
  path: string,
  args: readonly unknown[],
): { options: RouteOptions; handler: Handler } {
  const handler = args[args.length - 1]
  if (typeof handler !== 'function') {
    throw new SwitchboardError(
      'SWB_ERR_INVALID_ROUTE',
      `${method} ${path}: the last argument must be the handler`,
    )
  }
  const first = args[0]
  if (args.length === 2 && typeof first === 'object' && first !== null) {
    return { options: first as RouteOptions, handler: handler as Handler }
  }
  const middleware = args.slice(0, -1)
  for (const m of middleware) {
    if (typeof m !== 'function') {
      throw new SwitchboardError(
        'SWB_ERR_INVALID_ROUTE',
        `${method} ${path}: middleware must be functions`,
      )
    }
  }
  return {
    options: middleware.length ? { middleware: middleware as Middleware[] } : {},
    handler: handler as Handler,
  }
}

/**
 * A route-registering verb: a handler; options then a handler; or middleware then a handler.
 * Overloads (rather than one union of tuples) so that `ctx` is typed in inline handlers.
 */
export interface RouteMethod<S, R> {
  (path: string, handler: Handler<S>): R
  (path: string, options: RouteOptions<S>, handler: Handler<S>): R
  (path: string, ...handlers: [Middleware<S>, ...Middleware<S>[], Handler<S>]): R
}

/**
 * Route registration methods shared by the app and its groups. Subclasses decide where a
 * route goes (`addRoute`); the verbs only spell the method.
 */
export abstract class Routable<S> {
  protected abstract addRoute(method: string, path: string, args: readonly unknown[]): void

  /** Registers a route for one or more methods. */
  on(method: string | readonly string[], path: string, ...args: RouteArgs<S>): this {
    for (const m of typeof method === 'string' ? [method] : method)
      this.addRoute(m.toUpperCase(), path, args)
    return this
  }

  #verb(method: string | readonly string[]): RouteMethod<S, this> {
    return ((path: string, ...args: unknown[]) =>
      this.on(method, path, ...(args as RouteArgs<S>))) as RouteMethod<S, this>
  }

  /** GET route (HEAD is answered from it automatically). */
  readonly get: RouteMethod<S, this> = this.#verb('GET')
  /** HEAD route (only needed to answer HEAD differently from GET). */
  readonly head: RouteMethod<S, this> = this.#verb('HEAD')
  readonly post: RouteMethod<S, this> = this.#verb('POST')
  readonly put: RouteMethod<S, this> = this.#verb('PUT')
  readonly patch: RouteMethod<S, this> = this.#verb('PATCH')
  readonly delete: RouteMethod<S, this> = this.#verb('DELETE')
  /** OPTIONS route (OPTIONS is answered automatically with `Allow` when there is none). */
  readonly options: RouteMethod<S, this> = this.#verb('OPTIONS')
  /** Registers the route for GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS. */
  readonly all: RouteMethod<S, this> = this.#verb([
    'GET',
    'HEAD',
    'POST',
    'PUT',
    'PATCH',
    'DELETE',
    'OPTIONS',
  ])
}
