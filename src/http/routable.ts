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
  get(path: string, ...args: RouteArgs<S>): this {
    return this.on('GET', path, ...args)
  }
  head(path: string, ...args: RouteArgs<S>): this {
    return this.on('HEAD', path, ...args)
  }
  post(path: string, ...args: RouteArgs<S>): this {
    return this.on('POST', path, ...args)
  }
  put(path: string, ...args: RouteArgs<S>): this {
    return this.on('PUT', path, ...args)
  }
  patch(path: string, ...args: RouteArgs<S>): this {
    return this.on('PATCH', path, ...args)
  }
  delete(path: string, ...args: RouteArgs<S>): this {
    return this.on('DELETE', path, ...args)
  }
  options(path: string, ...args: RouteArgs<S>): this {
    return this.on('OPTIONS', path, ...args)
  }
  /** Registers the route for GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS. */
  all(path: string, ...args: RouteArgs<S>): this {
    return this.on(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'], path, ...args)
  }
}
