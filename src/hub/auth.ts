import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { importJWK, importSPKI, type JWK, errors as joseErrors, jwtVerify } from 'jose'
import { SwitchboardError } from '../errors/index.ts'

/** Who a connection is, as established by the connect hook. */
export interface Identity {
  /** User id; `''` means anonymous. */
  readonly user: string
  /** Application data attached to the connection (shown in presence and publications). */
  readonly info?: unknown
  /** When the credential expires (ms since the Unix epoch); the session is disconnected with
   * 3002 then, unless the client sent `refresh` with a newer credential. */
  readonly expiresAt?: number
  /** Channels the server subscribes the connection to at connect time. */
  readonly channels?: readonly string[]
}

/**
 * The HTTP request that opened a connection: the WebSocket upgrade, the SSE stream request, or
 * the POST of a command. A connect hook reads a session cookie from it, so a cookie login
 * authenticates WebSocket, SSE and POST alike with no token in any URL.
 */
export interface HttpRequestInfo {
  /** Request headers, names in lower case (repeated headers joined as Node joins them). */
  readonly headers: Readonly<Record<string, string | undefined>>
  /** Cookies of the `Cookie` header, decoded. */
  readonly cookies: Readonly<Record<string, string>>
  /** The client's address: the socket's peer, or the forwarded one when the app's `trustProxy`
   * trusts the hops (the same value as `ctx.ip`). */
  readonly remoteAddress: string
  /** The `Origin` header. The endpoint has already checked it against `allowedOrigins`. */
  readonly origin: string | undefined
  /** The request target (path and query, as sent). */
  readonly url: string
}

/** What `hub.authenticate()` is given: a credential and where it came from. */
export interface AuthenticateRequest {
  readonly token?: string | undefined
  readonly data?: unknown
  readonly transport: string
  readonly request?: HttpRequestInfo | undefined
}

/** What the connect hook is given. */
export interface ConnectRequest {
  /** The credential: `connect.token`, a `refresh` token, or a bearer token over HTTP. Absent
   * when the client sent none: the hook may then identify it from `request` (a cookie). */
  readonly token?: string
  /** `connect.data`. */
  readonly data?: unknown
  /** The transport's wire format name ('ws-json', 'ws-msgpack', 'sse', 'http'). */
  readonly transport: string
  /** The HTTP request that opened the connection (the WebSocket upgrade, the SSE stream request,
   * the POST of a command), when the connection came through the channel endpoint. */
  readonly request?: HttpRequestInfo
}

/**
 * Verifies a credential and returns the identity, or throws (any error refuses the connection
 * with `SWB_ERR_AUTH_UNAUTHORIZED` unless it is a `SwitchboardError` with its own code).
 *
 * @example
 * const auth: ConnectHook = async ({ token, request }) => {
 *   // A bearer token when the client sent one, else the session cookie of the opening request.
 *   const user = await sessions.lookup(token ?? request?.cookies.sid)
 *   if (!user) throw new SwitchboardError('SWB_ERR_AUTH_UNAUTHORIZED')
 *   return { user: user.id, info: { name: user.name } }
 * }
 */
export type ConnectHook = (request: ConnectRequest) => Identity | Promise<Identity>

/**
 * Runs the connect hook on a credential (or makes the anonymous identity when there is no
 * hook) and checks what it returns. Throws `SWB_ERR_AUTH_UNAUTHORIZED` or
 * `SWB_ERR_AUTH_TOKEN_EXPIRED`.
 */
export async function runConnectHook(
  hook: ConnectHook | null,
  request: AuthenticateRequest,
  now: () => number,
): Promise<Identity> {
  if (hook === null) return { user: '' }
  let identity: Identity
  try {
    identity = await hook({
      ...(request.token === undefined ? null : { token: request.token }),
      ...(request.data === undefined ? null : { data: request.data }),
      transport: request.transport,
      ...(request.request === undefined ? null : { request: request.request }),
    })
  } catch (err) {
    if (err instanceof SwitchboardError) throw err
    throw new SwitchboardError('SWB_ERR_AUTH_UNAUTHORIZED', undefined, { cause: err })
  }
  if (identity === null || typeof identity !== 'object' || typeof identity.user !== 'string') {
    throw new SwitchboardError('SWB_ERR_AUTH_UNAUTHORIZED')
  }
  if (identity.expiresAt !== undefined && identity.expiresAt <= now()) {
    throw new SwitchboardError('SWB_ERR_AUTH_TOKEN_EXPIRED')
  }
  return identity
}

/** Whole seconds left of a credential expiring at `expiresAt` (ms since the Unix epoch), never
 * negative; `undefined` for 0, which means the credential never expires. */
export function ttlSeconds(expiresAt: number, now: number): number | undefined {
  return expiresAt === 0 ? undefined : Math.max(0, Math.floor((expiresAt - now) / 1000))
}

/** JWT algorithms `jwtAuth` accepts. */
export type JwtAlgorithm = 'HS256' | 'RS256' | 'ES256'

/** Options of {@link jwtAuth}. */
export interface JwtAuthOptions {
  /** Shared secret for HS256. */
  secret?: string | Uint8Array
  /** Public key for RS256/ES256: PEM (SPKI), a JWK, or a `CryptoKey`. */
  publicKey?: string | JWK | CryptoKey
  /** Accepted algorithms. Default `['HS256']` with a secret, `['RS256', 'ES256']` with a key. */
  algorithms?: JwtAlgorithm[]
  /** Required `iss`. */
  issuer?: string
  /** Required `aud`. */
  audience?: string | string[]
  /** Seconds of clock skew tolerated. Default 0. */
  clockTolerance?: number
  /** Refuse tokens without `exp`. Default false. */
  requireExpiry?: boolean
  /** Claim holding the connection info. Default `'info'`. */
  infoClaim?: string
  /** Claim holding server-side channels. Default `'channels'`. */
  channelsClaim?: string
  /** Clock (ms), for tests. Default `Date.now`. */
  now?: () => number
}

const ALGORITHMS = new Set<JwtAlgorithm>(['HS256', 'RS256', 'ES256'])

function invalid(message: string): never {
  throw new SwitchboardError('SWB_ERR_INVALID_OPTION', `jwtAuth: ${message}`)
}

/**
 * A connect hook that verifies a JWT (HS256, RS256 or ES256) with `jose`: `sub` becomes the
 * user id, `exp` the expiry, the `info` claim the connection info, the `channels` claim the
 * server-side subscriptions.
 *
 * @example
 * const hub = new Hub({ auth: jwtAuth({ secret: process.env.JWT_SECRET }) })
 */
export function jwtAuth(options: JwtAuthOptions): (request: ConnectRequest) => Promise<Identity> {
  const { secret, publicKey } = options
  if ((secret === undefined) === (publicKey === undefined)) {
    invalid('give exactly one of secret and publicKey')
  }
  const algorithms = options.algorithms ?? (secret !== undefined ? ['HS256'] : ['RS256', 'ES256'])
  for (const alg of algorithms) if (!ALGORITHMS.has(alg)) invalid(`unsupported algorithm ${alg}`)
  if (secret !== undefined && algorithms.some((a) => a !== 'HS256')) {
    invalid('a secret works with HS256 only')
  }
  if (publicKey !== undefined && algorithms.includes('HS256')) {
    invalid('HS256 needs a secret, not a public key')
  }
  const secretKey = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret
  const keys = new Map<string, Promise<CryptoKey | Uint8Array>>()
  const now = options.now ?? Date.now
  const infoClaim = options.infoClaim ?? 'info'
  const channelsClaim = options.channelsClaim ?? 'channels'

  function keyFor(alg: string): Promise<CryptoKey | Uint8Array> {
    if (secretKey !== undefined) return Promise.resolve(secretKey)
    let key = keys.get(alg)
    if (key === undefined) {
      if (typeof publicKey === 'string') key = importSPKI(publicKey, alg)
      else if (publicKey !== undefined && 'kty' in publicKey) {
        key = importJWK(publicKey as JWK, alg) as Promise<CryptoKey | Uint8Array>
      } else key = Promise.resolve(publicKey as CryptoKey)
      keys.set(alg, key)
    }
    return key
  }

  return async function verifyJwt(request: ConnectRequest): Promise<Identity> {
    const token = request.token
    if (typeof token !== 'string' || token === '') {
      throw new SwitchboardError('SWB_ERR_AUTH_UNAUTHORIZED', 'A token is required')
    }
    let payload: Record<string, unknown>
    try {
      const result = await jwtVerify(token, (header) => keyFor(header.alg), {
        algorithms,
        issuer: options.issuer,
        audience: options.audience,
        clockTolerance: options.clockTolerance ?? 0,
        currentDate: new Date(now()),
        requiredClaims: options.requireExpiry ? ['exp', 'sub'] : ['sub'],
      })
      payload = result.payload as Record<string, unknown>
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) {
        throw new SwitchboardError('SWB_ERR_AUTH_TOKEN_EXPIRED', undefined, { cause: err })
      }
      throw new SwitchboardError('SWB_ERR_AUTH_UNAUTHORIZED', undefined, { cause: err })
    }
    const channels = payload[channelsClaim]
    return {
      user: String(payload.sub),
      ...(payload[infoClaim] === undefined ? null : { info: payload[infoClaim] }),
      ...(typeof payload.exp === 'number' ? { expiresAt: payload.exp * 1000 } : null),
      ...(Array.isArray(channels) && channels.every((c) => typeof c === 'string')
        ? { channels: channels as string[] }
        : null),
    }
  }
}

/**
 * Short-lived stream tickets: a browser's `EventSource` cannot send an `Authorization` header,
 * so the page first obtains a ticket over an authenticated `fetch` and opens
 * `/…/stream?channel=…&ticket=…`. A ticket is an HMAC-SHA256-signed identity with its own short
 * lifetime; nodes sharing `secret` accept each other's tickets (no sticky sessions).
 *
 * Format: `base64url(JSON payload) "." base64url(HMAC-SHA256(secret, payload part))`.
 *
 * @example
 * const tickets = new StreamTickets({ secret: process.env.TICKET_SECRET })
 * const ticket = tickets.issue({ user: 'u1' }, 30_000)
 * tickets.verify(ticket) // { user: 'u1' }
 */
export class StreamTickets {
  readonly #secret: Buffer
  readonly #now: () => number

  constructor(options: { secret?: string | Uint8Array; now?: () => number } = {}) {
    const s = options.secret
    this.#secret = s === undefined ? randomBytes(32) : Buffer.from(s as string)
    if (this.#secret.length < 16) {
      throw new SwitchboardError('SWB_ERR_INVALID_OPTION', 'ticketSecret must be at least 16 bytes')
    }
    this.#now = options.now ?? Date.now
  }

  /** Issues a ticket for `identity` valid for `ttl` milliseconds (default 60 s). */
  issue(identity: Identity, ttl = 60_000): string {
    const body = Buffer.from(
      JSON.stringify({
        u: identity.user,
        i: identity.info,
        e: identity.expiresAt,
        c: identity.channels,
        x: this.#now() + ttl,
      }),
    ).toString('base64url')
    return `${body}.${this.#sign(body)}`
  }

  /** Returns the identity of a valid, unexpired ticket, or throws `SWB_ERR_AUTH_UNAUTHORIZED`. */
  verify(ticket: string): Identity {
    const dot = ticket.indexOf('.')
    const body = ticket.slice(0, dot)
    const sig = Buffer.from(ticket.slice(dot + 1), 'base64url')
    const want = Buffer.from(this.#sign(body), 'base64url')
    if (dot <= 0 || sig.length !== want.length || !timingSafeEqual(sig, want)) {
      throw new SwitchboardError('SWB_ERR_AUTH_UNAUTHORIZED', 'The stream ticket is invalid')
    }
    let p: { u?: unknown; i?: unknown; e?: unknown; c?: unknown; x?: unknown }
    try {
      p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'))
    } catch {
      throw new SwitchboardError('SWB_ERR_AUTH_UNAUTHORIZED', 'The stream ticket is invalid')
    }
    if (typeof p.x !== 'number' || p.x <= this.#now()) {
      throw new SwitchboardError('SWB_ERR_AUTH_TOKEN_EXPIRED', 'The stream ticket expired')
    }
    return {
      user: typeof p.u === 'string' ? p.u : '',
      ...(p.i === undefined ? null : { info: p.i }),
      ...(typeof p.e === 'number' ? { expiresAt: p.e } : null),
      ...(Array.isArray(p.c) ? { channels: p.c as string[] } : null),
    }
  }

  #sign(body: string): string {
    return createHmac('sha256', this.#secret).update(body).digest('base64url')
  }
}
