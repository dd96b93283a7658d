import { SwitchboardError } from '../errors/index.ts'

/**
 * Which page origins may open a connection that a browser authenticates by itself (a WebSocket
 * upgrade carries the site's cookies; so do `EventSource` and `fetch` with credentials):
 * - `'same-origin'` (the default): the `Origin` header names the host the request was sent to
 *   (its `Host` header). Cross-site WebSocket hijacking is refused.
 * - a list of origins (`'https://app.example'`, exact, case-insensitive) or a predicate: only
 *   those. List your own origin too when pages on it connect.
 * - `'any'`: every origin, the named escape hatch. Safe only when nothing a browser sends by
 *   itself (cookies, HTTP auth, client certificates) authenticates the connection.
 *
 * A request without `Origin` is not a cross-site browser page (browsers always send it on a
 * WebSocket upgrade and on cross-origin `EventSource`/`fetch`); see {@link originAllowed}.
 */
export type OriginOption = 'same-origin' | 'any' | readonly string[] | ((origin: string) => boolean)

/** An origin policy resolved once at registration. `null` allows every origin. */
export type OriginPolicy =
  | 'same-origin'
  | ReadonlySet<string>
  | ((origin: string) => boolean)
  | null

/**
 * Validates an `allowedOrigins` option once. `name` is the option's name for the error message.
 *
 * @example
 * resolveOriginPolicy(undefined, 'allowedOrigins') // 'same-origin'
 * resolveOriginPolicy(['https://App.example'], 'allowedOrigins') // Set { 'https://app.example' }
 */
export function resolveOriginPolicy(value: unknown, name: string): OriginPolicy {
  if (value === undefined || value === 'same-origin') return 'same-origin'
  if (value === 'any') return null
  if (typeof value === 'function') return value as (origin: string) => boolean
  if (Array.isArray(value) && value.every((o) => typeof o === 'string')) {
    return new Set(value.map((o: string) => o.toLowerCase()))
  }
  throw new SwitchboardError(
    'SWB_ERR_INVALID_OPTION',
    `${name} must be 'same-origin' (the default), 'any', a list of origins or a function; got ${
      typeof value === 'string' ? JSON.stringify(value) : String(value)
    }`,
  )
}

const DEFAULT_PORT: Record<string, string> = {
  'http:': '80',
  'https:': '443',
  'ws:': '80',
  'wss:': '443',
}

/**
 * Whether `origin` (an `Origin` header: `scheme://host[:port]`) names the same host and port as
 * the request's `Host` header. The scheme is not compared: behind a TLS-terminating proxy the
 * server cannot see it. `null` (an opaque origin: sandboxed frames, `file:`) is never the same.
 *
 * @example
 * isSameOrigin('https://app.example', 'app.example') // true
 * isSameOrigin('https://evil.example', 'app.example') // false
 */
export function isSameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined || host === '') return false
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    return false
  }
  // An origin is a scheme and an authority, nothing else (RFC 6454 §6.1).
  if (url.host === '' || origin.length > 2048) return false
  const want = url.host // lower-cased, default port already dropped
  let got = host.toLowerCase()
  const port = DEFAULT_PORT[url.protocol]
  if (port !== undefined && got.endsWith(`:${port}`) && !got.endsWith(']')) {
    got = got.slice(0, -(port.length + 1))
  }
  return want === got
}

/**
 * Whether a request may go on under `policy`. `origin` and `host` are its `Origin` and `Host`
 * headers. A missing `Origin` passes the same-origin default (Node and other non-browser
 * clients send none, and browsers send one on every WebSocket upgrade) but fails a list or a
 * predicate: an application that names its origins asks for browsers only.
 *
 * @example
 * originAllowed('same-origin', undefined, 'app.example') // true: not a browser page
 */
export function originAllowed(
  policy: OriginPolicy,
  origin: string | undefined,
  host: string | undefined,
): boolean {
  if (policy === null) return true
  if (policy === 'same-origin') return origin === undefined || isSameOrigin(origin, host)
  if (origin === undefined) return false
  return typeof policy === 'function' ? policy(origin) === true : policy.has(origin.toLowerCase())
}
