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
  /** Channels the server subscribes the connection to at connect time (WebSocket) or adds to
   * the stream (SSE). */
  readonly channels?: readonly string[]
  /** Whether `channels` must pass the namespace's `canSubscribe`, as a client's own subscribe
   * does (a refused channel is left out). Default false: channels the hook chose are trusted, as
   * `hub.subscribe` is. `jwtAuth` sets it for its channels claim unless `trustChannelsClaim`. */
  readonly authorizeChannels?: boolean
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

/** What a stream ticket is presented for: an SSE stream of these channels, or POST commands. */
export type TicketUse =
  | { readonly kind: 'stream'; readonly channels: readonly string[] }
  | { readonly kind: 'commands' }

/** What `hub.authenticate()` is given: a credential and where it came from. */
export interface AuthenticateRequest {
  /** A token for the connect hook. */
  readonly token?: string | undefined
  /** A stream ticket instead of a token (checked by the hub, not the hook), with its use. */
  readonly ticket?: string | undefined
  readonly ticketUse?: TicketUse | undefined
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
 * hook) and checks what it returns with {@link checkIdentity}. Throws
 * `SWB_ERR_AUTH_UNAUTHORIZED` or `SWB_ERR_AUTH_TOKEN_EXPIRED`.
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
  return checkIdentity(identity, now)
}

/**
 * The one check every identity passes before it is used, whether a connect hook made it or a
 * stream ticket carried it: it is an identity, and its credential has not expired. Throws
 * `SWB_ERR_AUTH_UNAUTHORIZED` or `SWB_ERR_AUTH_TOKEN_EXPIRED`.
 */
export function checkIdentity(identity: Identity, now: () => number): Identity {
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
