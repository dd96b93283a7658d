import type { Context } from './context.ts'

/** What a middleware returns: nothing, or a promise of nothing. */
export type Next = () => Promise<void>

// `S` (the app's `ctx.state` type) defaults to `any`: the router keeps routes of any state type in
// one erased table, and a handler of one state type is not a handler of another, so no narrower
// default accepts them all. Apps always give `S` through `Switchboard<S>`.

/** Onion middleware: runs code before and after the rest of the chain by awaiting `next()`. */
// biome-ignore lint/suspicious/noExplicitAny: the erased state type (see above)
export type Middleware<S = any> = (ctx: Context<S>, next: Next) => void | Promise<void>

/**
 * A route handler. It answers through the context (`ctx.json(...)`), or returns a value:
 * a Web `Response`, a string (text/plain), a `Uint8Array` (bytes) or any other value (JSON).
 */
// biome-ignore lint/suspicious/noExplicitAny: the erased state type (see above)
export type Handler<S = any> = (ctx: Context<S>) => unknown

/**
 * Composes middleware and a final handler into one function, resolved once per route at
 * registration. With no middleware the handler itself is used, so a plain route pays nothing.
 */
export function compose(middleware: readonly Middleware[], handler: Handler): Handler {
  if (middleware.length === 0) return handler
  const chain = middleware
  const last = chain.length
  return function composed(ctx: Context): Promise<void> {
    let index = -1
    const dispatch = (i: number): Promise<void> => {
      if (i <= index) return Promise.reject(new Error('next() called more than once'))
      index = i
      try {
        if (i === last) {
          const out = handler(ctx)
          if (out instanceof Promise) return out.then((v) => ctx.adopt(v))
          ctx.adopt(out)
          return Promise.resolve()
        }
        return Promise.resolve(chain[i]!(ctx, () => dispatch(i + 1)))
      } catch (err) {
        return Promise.reject(err)
      }
    }
    return dispatch(0)
  }
}
