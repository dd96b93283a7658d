import { createReadStream } from 'node:fs'
import { type ServerResponse, validateHeaderName, validateHeaderValue } from 'node:http'
import { pipeline, Readable } from 'node:stream'
import { HttpError, SwitchboardError, statusMessage } from '../errors/index.ts'
import type { Context } from './context.ts'

const NO_BODY_STATUS = new Set([204, 205, 304])

function onPipelineDone(this: ServerResponse, err: Error | null | undefined): void {
  if (err && !this.destroyed) this.destroy(err)
}

/**
 * Writes the response a context describes: one `writeHead` with every header, then the body.
 * Strings and bytes go out in one `end()` with a `Content-Length`; streams and files are piped
 * and torn down if the client goes away. Nothing is written for a taken-over context.
 */
export function writeResponse(ctx: Context<unknown>, closing: boolean): void {
  if (ctx.takenOver) return
  const res = ctx.res
  if (res.headersSent || res.writableEnded) return
  let status = ctx.statusCode
  const body = ctx.body
  if (!ctx.finalized) status = 204
  const headers = ctx.responseHeaders ?? {}
  if (closing) res.shouldKeepAlive = false
  if (NO_BODY_STATUS.has(status) || body === null) {
    if (!NO_BODY_STATUS.has(status) && headers['content-length'] === undefined)
      headers['content-length'] = '0'
    res.writeHead(status, headers)
    res.end()
    return
  }
  if (typeof body === 'string' || body instanceof Uint8Array) {
    headers['content-length'] = String(
      typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength,
    )
    res.writeHead(status, headers)
    if (ctx.method === 'HEAD') res.end()
    else res.end(body)
    return
  }
  res.writeHead(status, headers)
  if (ctx.method === 'HEAD') {
    if (body instanceof Readable) body.destroy()
    res.end()
    return
  }
  const source =
    body instanceof Readable
      ? body
      : createReadStream(body.path, { start: body.start, end: body.end })
  pipeline(source, res, onPipelineDone.bind(res))
}

/** Whether the client prefers HTML over JSON, by the order in `Accept`. */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false
  const html = accept.indexOf('text/html')
  if (html === -1) return false
  const json = accept.indexOf('application/json')
  return json === -1 || html < json
}

/** Whether every header name is a token and every value legal (no CR, LF or NUL). */
export function validHeaders(headers: Record<string, string>): boolean {
  for (const [name, value] of Object.entries(headers)) {
    try {
      validateHeaderName(name)
      validateHeaderValue(name, value)
    } catch {
      return false
    }
  }
  return true
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/**
 * Turns any thrown value into the error response: the status and code of a
 * `SwitchboardError`/`HttpError`, else 500 `SWB_ERR_INTERNAL`. Messages of 5xx errors are
 * hidden unless the error is marked `expose`; stacks are shown only in `dev` mode.
 */
export function errorResponse(ctx: Context<unknown>, err: unknown, dev: boolean): void {
  if (err instanceof HttpError && err.headers && !validHeaders(err.headers)) {
    // A header value with CR/LF (or a bad name) cannot be sent: the error itself is a bug.
    errorResponse(ctx, new Error('an HttpError carried an invalid header name or value'), dev)
    return
  }
  const known = err instanceof SwitchboardError
  const status = known && err.status >= 400 && err.status <= 599 ? err.status : 500
  const code = known ? err.code : 'SWB_ERR_INTERNAL'
  const expose = known ? err.expose : false
  const message = expose ? (err as Error).message : statusMessage(status)
  const details = known && expose ? err.details : undefined
  // Start from a clean response: headers set before the error would describe another answer.
  const kept = ctx.responseHeaders?.allow
  ctx.body = null
  for (const name of Object.keys(ctx.responseHeaders ?? {})) delete ctx.responseHeaders![name]
  if (kept !== undefined && status === 405) ctx.header('allow', kept)
  if (err instanceof HttpError && err.headers) {
    for (const [k, v] of Object.entries(err.headers)) ctx.header(k, v)
  }
  ctx.header('x-request-id', ctx.requestId)
  if (status === 413) ctx.res.shouldKeepAlive = false
  const detail = dev && err instanceof Error ? err.stack : undefined
  if (prefersHtml(ctx.headers.accept)) {
    const title = `${status} ${statusMessage(status)}`
    ctx.html(
      `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p><p><code>${escapeHtml(String(code))}</code> · request ${escapeHtml(ctx.requestId)}</p>${detail ? `<pre>${escapeHtml(detail)}</pre>` : ''}</body></html>`,
      status,
    )
  } else {
    ctx.json(
      {
        error: {
          code,
          message,
          ...(details === undefined ? null : { details }),
          requestId: ctx.requestId,
          ...(detail ? { stack: detail } : {}),
        },
      },
      status,
    )
  }
}
