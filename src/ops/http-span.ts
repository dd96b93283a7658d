import { type Span, SpanStatusCode } from '@opentelemetry/api'
import type { Context } from '../http/context.ts'

/** Ends a request's span when its response is done, named and labelled by its route. */
export function endWithResponse(span: Span, ctx: Context<unknown>): void {
  const done = () => {
    ctx.res.off('finish', done)
    ctx.res.off('close', done)
    const status = ctx.res.statusCode
    span.updateName(ctx.route === '' ? ctx.method : `${ctx.method} ${ctx.route}`)
    span.setAttributes({
      'http.request.method': ctx.method,
      'url.path': ctx.path,
      'http.response.status_code': status,
      ...(ctx.route === '' ? null : { 'http.route': ctx.route }),
    })
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR })
    span.end()
  }
  ctx.res.on('finish', done)
  ctx.res.on('close', done)
}
