/**
 * The response head of an SSE stream: written by the stream itself on HTTP/1.x (raw), or as
 * `res.writeHead` headers otherwise. Headers chosen earlier for the response (CORS, request id,
 * cookies) are kept; the stream's own headers win.
 */
import type { ServerResponse } from 'node:http'
import { validateHeaderName, validateHeaderValue } from 'node:http'
import { OWN_HEADERS, type ResolvedSseOptions } from './options.ts'

type Headers = Readonly<Record<string, string | readonly string[]>>

/** The raw HTTP/1.x head (status line to blank line) and the preamble after it. */
export function rawHead(
  opts: ResolvedSseOptions,
  http11: boolean,
  res: ServerResponse | null,
  headers: Headers | null,
): string {
  let head = http11 ? opts.head11 : opts.head10
  if (res !== null) {
    for (const name of res.getHeaderNames()) {
      const value = res.getHeader(name)
      if (value !== undefined) head += rawHeaderLines(opts, name, value)
    }
  }
  if (headers !== null)
    for (const name in headers) {
      head += rawHeaderLines(opts, name, headers[name]!)
    }
  return `${head}\r\n${opts.preamble}`
}

/** Headers for `res.writeHead`: the SSE set (`sse`: a 200) plus the ones chosen earlier. */
export function headerList(
  opts: ResolvedSseOptions,
  headers: Headers | null,
  sse: boolean,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  if (headers !== null)
    for (const name in headers) {
      if (!OWN_HEADERS.has(name.toLowerCase())) out[name] = headers[name] as string | string[]
    }
  if (sse) Object.assign(out, opts.headerMap)
  return out
}

function rawHeaderLines(
  opts: ResolvedSseOptions,
  name: string,
  value: string | number | readonly string[],
): string {
  const lower = name.toLowerCase()
  if (OWN_HEADERS.has(lower) || opts.headerMap[lower] !== undefined) return ''
  // Values come from Node's setHeader or our ctx.header(); refuse anything that could split
  // the head even so.
  validateHeaderName(name)
  if (typeof value === 'string' || typeof value === 'number') {
    validateHeaderValue(name, String(value))
    return `${name}: ${value}\r\n`
  }
  let out = ''
  for (const v of value) {
    validateHeaderValue(name, v)
    out += `${name}: ${v}\r\n`
  }
  return out
}
