// Admission of a one-way channel stream (SSE): everything checked before the response starts,
// so that every refusal is still an HTTP error with its status and code.
import { SwitchboardError } from '../errors/index.ts'
import { parseSseId, type StreamPosition } from '../protocol/index.ts'
import type { AuthenticateRequest, HttpRequestInfo, Identity } from './auth.ts'
import type { Namespaces } from './namespace.ts'
import type { Session } from './session.ts'

/** A parsed stream request, returned by `hub.openStream` before the transport exists. */
export interface StreamRequest {
  /** The `channel` query parameters, in URL order. */
  readonly channels: readonly string[]
  /** `Last-Event-ID` header (or `lastEventId` query parameter). */
  readonly lastEventId?: string
  /** `ticket` query parameter. */
  readonly ticket?: string
  /** Bearer token (for clients that can send headers). */
  readonly token?: string
  /** The stream's HTTP request, for the connect hook (a session cookie). */
  readonly request?: HttpRequestInfo
}

/** What admission needs of its hub. */
export interface StreamAdmissionHost {
  readonly maxStreamChannels: number
  readonly namespaces: Namespaces
  authenticate(request: AuthenticateRequest): Promise<Identity>
}

/** An admitted stream: who it is, every channel it carries (the URL's, then the identity's
 * server-side ones), and where each resumes from (`Last-Event-ID`), if it said. */
export interface AdmittedStream {
  readonly identity: Identity
  readonly channels: readonly string[]
  readonly cursors: Map<string, StreamPosition> | null
  /** The request carried a `Last-Event-ID` (or `lastEventId`) that no stream of this URL could
   * have been written: the client believed it had positions, so every channel starts fresh
   * with `recovered: false` rather than in silence. */
  readonly lost: boolean
}

/**
 * Checks a stream request: 1 to `maxStreamChannels` distinct channels, the ticket or token, every
 * channel's namespace, and `canSubscribe` for the channels the URL names. Throws the coded error of
 * the first refusal; a refusal caused by one channel names it (see {@link namingChannel}).
 *
 * @example
 * const { identity, channels, cursors } = await admitStream({ channels: ['chat:a'], ticket }, host)
 */
export async function admitStream(
  request: StreamRequest,
  host: StreamAdmissionHost,
): Promise<AdmittedStream> {
  const channels = [...request.channels]
  if (channels.length === 0 || channels.length > host.maxStreamChannels) {
    fail(
      'SWB_ERR_PROTOCOL_BAD_COMMAND',
      `A stream needs 1 to ${host.maxStreamChannels} channel parameters`,
    )
  }
  if (new Set(channels).size !== channels.length) {
    fail('SWB_ERR_PROTOCOL_BAD_COMMAND', 'A channel is listed twice')
  }
  // A ticket goes through the hub's one authentication path too: scoped to these channels, and
  // refused once the credential it was issued from has expired.
  const identity = await host.authenticate({
    token: request.token,
    ticket: request.ticket,
    ticketUse: { kind: 'stream', channels: request.channels },
    transport: 'sse',
    request: request.request,
  })
  for (const extra of identity.channels ?? []) if (!channels.includes(extra)) channels.push(extra)
  const explicit = new Set(request.channels)
  const refused: string[] = []
  for (const channel of channels) {
    try {
      const ns = host.namespaces.of(channel)
      const ctx = { channel, user: identity.user, client: '', info: identity.info }
      if (explicit.has(channel)) await host.namespaces.checkSubscribe(ns, ctx)
      else if (identity.authorizeChannels === true) {
        // A channel the credential asked for passes canSubscribe, and is left out if refused.
        await host.namespaces.checkSubscribe(ns, ctx).catch(() => refused.push(channel))
      }
    } catch (err) {
      throw namingChannel(err, channel)
    }
  }
  if (refused.length > 0)
    channels.splice(0, channels.length, ...channels.filter((c) => !refused.includes(c)))
  const id = request.lastEventId
  const cursors = id === undefined || id === '' ? null : parseSseId(id, request.channels)
  return { identity, channels, cursors, lost: cursors === null && id !== undefined && id !== '' }
}

/**
 * A stream refused because of one channel names it: in the error's `details.channel` (sent in
 * the HTTP error body) and, JSON-quoted, in its message for people. The client reads it to
 * reopen the stream without that channel instead of failing every subscription on it.
 */
export function namingChannel(err: unknown, channel: string): unknown {
  // Only plain table errors: an HttpError from a hook keeps its own class and headers.
  if (!(err instanceof SwitchboardError) || err.constructor !== SwitchboardError) return err
  const quoted = JSON.stringify(channel)
  if (quoted.length > 1024) return err
  const message = err.message.includes(quoted) ? err.message : `${err.message}: channel ${quoted}`
  return new SwitchboardError(err.code, message, {
    cause: err,
    status: err.status,
    closeCode: err.closeCode,
    expose: err.expose,
    details: { ...err.details, channel },
  })
}

function fail(code: 'SWB_ERR_PROTOCOL_BAD_COMMAND', message: string): never {
  throw new SwitchboardError(code, message)
}

/**
 * Admits a stream, then makes its session (`create`), says who it is in a `connected` push
 * before any channel push (the client refreshes its credential over HTTP POST with this
 * `client` id, as a stream cannot carry commands), and subscribes each channel from its cursor
 * (`null` when the id was unreadable: each channel's `subscribe` push then says
 * `recovered: false`).
 * A subscribe failure after the response started goes to `failed`, which ends the stream.
 */
export async function openAdmittedStream(
  host: StreamAdmissionHost,
  request: StreamRequest,
  create: (identity: Identity) => { session: Session; ttl: number | undefined },
  subscribe: (
    session: Session,
    channel: string,
    cursor: StreamPosition | null | undefined,
  ) => Promise<void>,
  failed: (session: Session, error: unknown) => void,
): Promise<Session> {
  const { identity, channels, cursors, lost } = await admitStream(request, host)
  const { session, ttl } = create(identity)
  session.enqueue(
    session.format.prepare({
      type: 'connected',
      client: session.id,
      user: session.user,
      ...(ttl === undefined ? null : { ttl }),
    }),
  )
  try {
    for (const channel of channels) {
      if (session.isClosed) break
      await subscribe(session, channel, lost ? null : cursors?.get(channel))
    }
  } catch (err) {
    failed(session, err)
  }
  return session
}
