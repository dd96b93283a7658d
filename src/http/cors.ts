import { SwitchboardError } from '../errors/index.ts'
import type { Middleware, Next } from './compose.ts'
import type { Context } from './context.ts'

/**
 * Which origins may read answers cross-origin: `'*'` (any, never with credentials), one exact
 * origin (`'https://app.example'`), a list of them, a RegExp tested against the `Origin` header
 * (anchor it), or a function that decides (it may be async).
 */
// biome-ignore lint/suspicious/noExplicitAny: the erased state type (see compose.ts)
export type CorsOrigin<S = any> =
  | string
  | readonly string[]
  | RegExp
  | ((origin: string, ctx: Context<S>) => boolean | Promise<boolean>)

/** Options of `cors()`. Validated once, when the middleware is made. */
// biome-ignore lint/suspicious/noExplicitAny: the erased state type (see compose.ts)
export interface CorsOptions<S = any> {
  /** Allowed origins. Default: none, so the middleware adds nothing until this is configured. */
  readonly origin?: CorsOrigin<S>
  /** Send `Access-Control-Allow-Credentials: true` (cookies, `withCredentials`). Default false. */
  readonly credentials?: boolean
  /** Methods a preflight allows. Default GET, HEAD, POST, PUT, PATCH, DELETE. */
  readonly methods?: readonly string[]
  /** Request headers a preflight allows. Default: those the preflight asks for (reflected). */
  readonly allowedHeaders?: readonly string[]
  /** Response headers the page may read beyond the safelisted ones. Default none. */
  readonly exposedHeaders?: readonly string[]
  /** How long a browser may cache a preflight answer, seconds. Default 600. */
  readonly maxAge?: number
  /** Status of a preflight answer (2xx). Default 204. */
  readonly preflightStatus?: number
}

/** Longest `Access-Control-Request-Headers` value a preflight may carry (400 beyond). */
export const MAX_REQUEST_HEADERS_LENGTH = 2048
/** Most header names a preflight may ask for (400 beyond). */
export const MAX_REQUEST_HEADER_NAMES = 100
/** Origins longer than this, or holding a comma (a repeated header), are never allowed. */
const MAX_ORIGIN_LENGTH = 1024

const KEYS = new Set([
  'origin',
  'credentials',
  'methods',
  'allowedHeaders',
  'exposedHeaders',
  'maxAge',
  'preflightStatus',
])
const DEFAULT_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

type Match = (origin: string, ctx: Context) => boolean | Promise<boolean>

interface Resolved {
  /** `'*'` without credentials: the answer does not depend on the origin. */
  readonly any: boolean
  readonly match: Match
  readonly credentials: boolean
  readonly methods: string
  /** The configured list, or null to reflect the preflight's request headers. */
  readonly allowedHeaders: string | null
  readonly exposedHeaders: string | null
  readonly maxAge: string
  readonly preflightStatus: number
  /** `Vary` of a preflight answer (null when it varies on nothing). */
  readonly preflightVary: string | null
}

function invalid(message: string): SwitchboardError {
  return new SwitchboardError('SWB_ERR_INVALID_OPTION', `cors(): ${message}`)
}

function tokenList(name: string, value: unknown): string | null {
  if (value === undefined) return null
  if (!Array.isArray(value)) throw invalid(`${name} must be an array of header or method names`)
  for (const v of value) {
    if (typeof v !== 'string' || !TOKEN.test(v))
      throw invalid(`${name} holds ${JSON.stringify(v)}, which is not an HTTP token`)
  }
  return value.length === 0 ? null : value.join(', ')
}

/** An origin as a browser sends it: scheme, host and port, no path, no trailing slash. */
function checkOrigin(value: unknown): string {
  if (typeof value !== 'string') throw invalid('origin list entries must be strings')
  if (value === 'null')
    throw invalid('origin "null" (sandboxed pages, file:) must not be allowed by name')
  let parsed: URL | null = null
  try {
    parsed = new URL(value)
  } catch {}
  if (parsed === null || parsed.origin !== value) {
    throw invalid(
      `origin ${JSON.stringify(value)} is not an origin like "https://app.example" (no path, no trailing slash)`,
    )
  }
  return value
}

function resolveMatch(origin: unknown): Match {
  if (origin === undefined) return () => false
  if (origin === '*') return () => true
  if (typeof origin === 'string') {
    const only = checkOrigin(origin)
    return (o) => o === only
  }
  if (Array.isArray(origin)) {
    const set = new Set(origin.map(checkOrigin))
    return (o) => set.has(o)
  }
  if (origin instanceof RegExp) {
    // A global or sticky RegExp keeps `lastIndex` between tests, so it would answer in turns.
    if (origin.global || origin.sticky)
      throw invalid('an origin RegExp must not have the g or y flag')
    return (o) => o.length <= MAX_ORIGIN_LENGTH && !o.includes(',') && origin.test(o)
  }
  if (typeof origin === 'function') {
    const decide = origin as Match
    return (o, ctx) => o.length <= MAX_ORIGIN_LENGTH && !o.includes(',') && decide(o, ctx)
  }
  throw invalid("origin must be '*', an origin, a list of origins, a RegExp or a function")
}

/** Validates `cors()` options once, with a message that names the option. */
export function resolveCorsOptions(options: CorsOptions = {}): Resolved {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object')
  for (const key of Object.keys(options)) {
    if (!KEYS.has(key)) throw invalid(`unknown option "${key}"`)
  }
  const credentials = options.credentials ?? false
  if (typeof credentials !== 'boolean') throw invalid('credentials must be a boolean')
  if (options.origin === '*' && credentials) {
    throw invalid(
      "origin '*' cannot be used with credentials: name the origins (a list, a RegExp or a function)",
    )
  }
  const match = resolveMatch(options.origin)
  const maxAge = options.maxAge ?? 600
  if (!Number.isInteger(maxAge) || maxAge < 0 || maxAge > 86_400)
    throw invalid('maxAge must be an integer of seconds from 0 to 86400')
  const preflightStatus = options.preflightStatus ?? 204
  if (!Number.isInteger(preflightStatus) || preflightStatus < 200 || preflightStatus > 299)
    throw invalid('preflightStatus must be a 2xx status')
  const any = options.origin === '*'
  const allowedHeaders =
    options.allowedHeaders === undefined
      ? null
      : (tokenList('allowedHeaders', options.allowedHeaders) ?? '')
  const vary = [
    any ? null : 'Origin',
    allowedHeaders === null ? 'Access-Control-Request-Headers' : null,
  ]
    .filter((v) => v !== null)
    .join(', ')
  return Object.freeze({
    any,
    match,
    credentials,
    methods: tokenList('methods', options.methods ?? DEFAULT_METHODS) ?? '',
    allowedHeaders,
    exposedHeaders: tokenList('exposedHeaders', options.exposedHeaders),
    maxAge: String(maxAge),
    preflightStatus,
    preflightVary: vary === '' ? null : vary,
  })
}

const TAB = 9
const SPACE = 32
const COMMA = 44

/** Whether `c` is an RFC 9110 `tchar`. */
function isTchar(c: number): boolean {
  if (c >= 0x30 && c <= 0x39) return true // 0-9
  if ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) return true // A-Z a-z
  // ! # $ % & ' * + - . ^ _ ` | ~
  return (
    c === 0x21 ||
    (c >= 0x23 && c <= 0x27) ||
    c === 0x2a ||
    c === 0x2b ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x5e ||
    c === 0x5f ||
    c === 0x60 ||
    c === 0x7c ||
    c === 0x7e
  )
}

/**
 * Checks `Access-Control-Request-Headers` (RFC 9110 §5.6.1: `#field-name`) in one pass and
 * returns the names joined by `, `, `''` for none, or null when the value is malformed or
 * over the limits. Only tokens survive, so the reflected value is safe to send back.
 */
export function parseRequestHeaders(value: string): string | null {
  if (value.length > MAX_REQUEST_HEADERS_LENGTH) return null
  let out = ''
  let names = 0
  let start = -1
  let ended = false // a name ended and only OWS may follow before a comma
  for (let i = 0; i <= value.length; i++) {
    const c = i === value.length ? COMMA : value.charCodeAt(i)
    if (c === COMMA || c === SPACE || c === TAB) {
      if (start !== -1) {
        if (++names > MAX_REQUEST_HEADER_NAMES) return null
        out += out === '' ? value.slice(start, i) : `, ${value.slice(start, i)}`
        start = -1
        ended = true
      }
      if (c === COMMA) ended = false
    } else if (isTchar(c)) {
      if (ended) return null // two names not separated by a comma
      if (start === -1) start = i
    } else return null
  }
  return out
}

/**
 * CORS (the Fetch standard's HTTP extensions) as middleware, for `app.use()` or `group.use()`.
 * An allowed origin gets `Access-Control-Allow-Origin` (the origin itself, or `*` for `'*'`),
 * `-Credentials` and `-Expose-Headers`; a preflight (`OPTIONS` with `Origin` and
 * `Access-Control-Request-Method`) is answered here, for any path the app or group covers, with
 * the allowed methods, headers and `-Max-Age`. A disallowed origin gets no CORS headers (the
 * browser then blocks the read); its preflight is answered with no allow headers. Error answers
 * keep the headers. WebSocket upgrades are not CORS: see the WebSocket route's `allowedOrigins`.
 *
 * @example
 * app.use(cors({ origin: ['https://app.example'], credentials: true, exposedHeaders: ['x-request-id'] }))
 */
// biome-ignore lint/suspicious/noExplicitAny: the erased state type (see compose.ts)
export function cors<S = any>(options?: CorsOptions<S>): Middleware<S> {
  const o = resolveCorsOptions(options as CorsOptions)
  const varyOrigin = !o.any
  return function corsMiddleware(ctx: Context<S>, next: Next): void | Promise<void> {
    const origin = ctx.headers.origin
    if (origin === undefined) {
      // The same URL answers differently with an Origin: caches must keep the two apart.
      if (varyOrigin) ctx.header('vary', 'Origin', true)
      return next()
    }
    const allowed = o.match(origin, ctx as Context)
    if (allowed instanceof Promise) {
      return allowed.then((ok) => answer(o, ctx as Context, next, origin, ok === true))
    }
    return answer(o, ctx as Context, next, origin, allowed === true)
  }
}

function answer(
  o: Resolved,
  ctx: Context,
  next: Next,
  origin: string,
  allowed: boolean,
): void | Promise<void> {
  const preflight =
    ctx.method === 'OPTIONS' && ctx.headers['access-control-request-method'] !== undefined
  if (preflight) {
    if (o.preflightVary !== null) ctx.header('vary', o.preflightVary, true)
    if (!allowed) {
      ctx.send(null, o.preflightStatus)
      return
    }
    let headers = o.allowedHeaders
    if (headers === null) {
      const asked = ctx.headers['access-control-request-headers']
      headers = asked === undefined ? '' : parseRequestHeaders(asked)
      if (headers === null) {
        throw new SwitchboardError(
          'SWB_ERR_CORS_REQUEST_HEADERS',
          `Access-Control-Request-Headers must be a list of at most ${MAX_REQUEST_HEADER_NAMES} header names in ${MAX_REQUEST_HEADERS_LENGTH} characters`,
        )
      }
    }
    allow(o, ctx, origin)
    ctx.header('access-control-allow-methods', o.methods)
    if (headers !== '') ctx.header('access-control-allow-headers', headers)
    ctx.header('access-control-max-age', o.maxAge)
    ctx.send(null, o.preflightStatus)
    return
  }
  if (!o.any) ctx.header('vary', 'Origin', true)
  if (allowed) {
    allow(o, ctx, origin)
    if (o.exposedHeaders !== null) ctx.header('access-control-expose-headers', o.exposedHeaders)
  }
  return next()
}

function allow(o: Resolved, ctx: Context, origin: string): void {
  ctx.header('access-control-allow-origin', o.any ? '*' : origin)
  if (o.credentials) ctx.header('access-control-allow-credentials', 'true')
}

/**
 * The CORS headers (`Access-Control-*` and `Vary`) a context holds, or null when none: an error
 * answer starts from clean headers but keeps these, since they describe who may read the
 * answer, not the answer itself.
 */
export function corsHeadersOf(
  headers: Record<string, string | string[]> | null,
): [string, string | string[]][] | null {
  if (headers === null) return null
  let out: [string, string | string[]][] | null = null
  for (const name in headers) {
    if (name === 'vary' || name.startsWith('access-control-'))
      (out ??= []).push([name, headers[name]!])
  }
  return out
}
