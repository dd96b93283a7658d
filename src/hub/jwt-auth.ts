import { importJWK, importSPKI, type JWK, errors as joseErrors, jwtVerify } from 'jose'
import { SwitchboardError } from '../errors/index.ts'
import type { ConnectRequest, Identity } from './auth.ts'

/** JWT algorithms `jwtAuth` accepts. */
export type JwtAlgorithm = 'HS256' | 'RS256' | 'ES256'

/**
 * Options of {@link jwtAuth}. Every default is the safe choice; docs/security.md names the threat
 * each one answers.
 */
export interface JwtAuthOptions {
  /** Shared secret for HS256: at least 32 bytes (RFC 7518 §3.2: a key as long as the hash), so
   * it cannot be guessed offline from one token. */
  secret?: string | Uint8Array
  /** Public key for RS256/ES256: PEM (SPKI), a JWK, or a `CryptoKey`. */
  publicKey?: string | JWK | CryptoKey
  /** Accepted algorithms. Default `['HS256']` with a secret, `['RS256', 'ES256']` with a key;
   * `none` and mixing a secret with key algorithms are refused (algorithm confusion). */
  algorithms?: JwtAlgorithm[]
  /** Required `iss`. */
  issuer?: string
  /** Required `aud`. */
  audience?: string | string[]
  /** Seconds of clock skew tolerated on `exp` and `nbf`. Default 0. An `iat` may be ahead of
   * this clock by this much or 5 s, whichever is more. */
  clockTolerance?: number
  /** Refuse tokens without `exp` (a token that never expires cannot be revoked by time).
   * Default true. */
  requireExpiry?: boolean
  /** Claim holding the connection info. Default `'info'`. */
  infoClaim?: string
  /** Claim holding channels to subscribe at connect. Default: none (a token cannot subscribe
   * anything by itself); name a claim (`'channels'`) to use one. */
  channelsClaim?: string
  /** Subscribe the channels claim without `canSubscribe`. Default false: each channel of the
   * claim passes `canSubscribe` like a client's own subscribe, and a refused one is left out. */
  trustChannelsClaim?: boolean
  /** Clock (ms), for tests. Default `Date.now`. */
  now?: () => number
}

const ALGORITHMS = new Set<JwtAlgorithm>(['HS256', 'RS256', 'ES256'])
/** RFC 7518 §3.2: an HS256 key of at least the hash's size, 256 bits. */
const MIN_SECRET_BYTES = 32
/** Seconds an `iat` may be ahead of this clock at least (issuers' clocks drift a little). */
const IAT_SKEW = 5

function invalid(message: string): never {
  throw new SwitchboardError('SWB_ERR_INVALID_OPTION', `jwtAuth: ${message}`)
}

function refuse(message: string): never {
  throw new SwitchboardError('SWB_ERR_AUTH_UNAUTHORIZED', message)
}

/**
 * A connect hook that verifies a JWT (HS256, RS256 or ES256) with `jose`: `sub` (a non-empty
 * string) becomes the user id, `exp` (required unless `requireExpiry: false`) the expiry, the
 * `info` claim the connection info, and a channels claim, when configured, the channels
 * subscribed at connect.
 *
 * @example
 * const hub = new Hub({ auth: jwtAuth({ secret: process.env.JWT_SECRET }) }) // 32+ bytes
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
  if (secretKey !== undefined && !(secretKey.byteLength >= MIN_SECRET_BYTES)) {
    invalid(
      `the HS256 secret must be at least ${MIN_SECRET_BYTES} bytes (got ${secretKey.byteLength}): a short secret can be guessed offline from any one token`,
    )
  }
  const tolerance = options.clockTolerance ?? 0
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
    invalid('clockTolerance must be a number of seconds >= 0')
  }
  const keys = new Map<string, Promise<CryptoKey | Uint8Array>>()
  const now = options.now ?? Date.now
  const infoClaim = options.infoClaim ?? 'info'
  const channelsClaim = options.channelsClaim
  const authorizeChannels = options.trustChannelsClaim !== true
  const requireExpiry = options.requireExpiry !== false
  const iatSkew = Math.max(tolerance, IAT_SKEW)

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
    if (typeof token !== 'string' || token === '') refuse('A token is required')
    let payload: Record<string, unknown>
    try {
      const result = await jwtVerify(token, (header) => keyFor(header.alg), {
        algorithms,
        issuer: options.issuer,
        audience: options.audience,
        clockTolerance: tolerance,
        currentDate: new Date(now()),
        requiredClaims: requireExpiry ? ['exp', 'sub'] : ['sub'],
      })
      payload = result.payload as Record<string, unknown>
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) {
        throw new SwitchboardError('SWB_ERR_AUTH_TOKEN_EXPIRED', undefined, { cause: err })
      }
      throw new SwitchboardError('SWB_ERR_AUTH_UNAUTHORIZED', undefined, { cause: err })
    }
    // `''` is the anonymous user's id and a number is not an id: neither may sign in.
    if (typeof payload.sub !== 'string' || payload.sub === '') {
      refuse('The token sub must be a non-empty string')
    }
    // A token issued in the future was minted by a clock (or a forger) that is wrong.
    if (typeof payload.iat === 'number' && payload.iat * 1000 > now() + iatSkew * 1000) {
      refuse('The token iat is in the future')
    }
    const channels = channelsClaim === undefined ? undefined : payload[channelsClaim]
    return {
      user: payload.sub,
      ...(payload[infoClaim] === undefined ? null : { info: payload[infoClaim] }),
      ...(typeof payload.exp === 'number' ? { expiresAt: payload.exp * 1000 } : null),
      ...(Array.isArray(channels) && channels.every((c) => typeof c === 'string')
        ? { channels: channels as string[], authorizeChannels }
        : null),
    }
  }
}
