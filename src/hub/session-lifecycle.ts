// How a hub's sessions start and end on this node: a WebSocket session waiting for its
// `connect`, an admitted SSE stream's session, and every way a session ends (the `disconnect`
// push and the transport closed, ending after the replies it owes, the transport gone, the
// periodic sweep, a drain, the hub's close); each of those ends through the hub's
// `disconnectSession`, the one way a session ends. Apart from hub.ts, which keeps the public
// methods with their docs and the `SessionOwner` methods sessions call, and delegates here.
import { DisconnectCode, reconnectAllowed } from '../protocol/index.ts'
import {
  type AuthenticateRequest,
  type HttpRequestInfo,
  type Identity,
  ttlSeconds,
} from './auth.ts'
import type { HubLimits } from './hub-options.ts'
import type { Limiter } from './limits.ts'
import type { Namespaces } from './namespace.ts'
import type { ChannelRegistry } from './registry.ts'
import type { Report } from './report.ts'
import { CLOSED, Session, type SessionOwner } from './session.ts'
import type { SessionTable } from './session-table.ts'
import { openAdmittedStream, type StreamRequest } from './stream-admission.ts'
import type { RecorderHost } from './timed-broker.ts'
import type { Transport } from './transport.ts'

/** How long a session closed for a protocol error waits for the replies it owes. */
const REPLY_GRACE_MS = 5000

/** @internal What the lifecycle needs of its hub: the sessions' owner, which also authenticates. */
export interface LifecycleHub extends SessionOwner, RecorderHost {
  readonly limiter: Limiter
  authenticate(request: AuthenticateRequest): Promise<Identity>
  disconnectSession(session: Session, code: number, reason: string, delay?: number): void
}

/** @internal The hub's tables and settings the lifecycle works on. */
export interface LifecycleParts {
  readonly sessions: SessionTable
  readonly registry: ChannelRegistry
  readonly namespaces: Namespaces
  readonly limits: HubLimits
  readonly now: () => number
  readonly onError: Report
}

/** @internal Starts and ends the sessions of one hub (see the file header). */
export class SessionLifecycle {
  readonly #hub: LifecycleHub
  readonly #sessions: SessionTable
  readonly #registry: ChannelRegistry
  readonly #namespaces: Namespaces
  readonly #limits: HubLimits
  readonly #now: () => number
  readonly #onError: Report

  constructor(hub: LifecycleHub, parts: LifecycleParts) {
    this.#hub = hub
    this.#sessions = parts.sessions
    this.#registry = parts.registry
    this.#namespaces = parts.namespaces
    this.#limits = parts.limits
    this.#now = parts.now
    this.#onError = parts.onError
  }

  /** See `Hub.connect` (which checks the hub is open). */
  connect(
    transport: Transport,
    options: { identity?: Identity; request?: HttpRequestInfo },
  ): Session {
    const session = new Session(this.#hub, transport)
    session.connectDeadline = this.#now() + this.#limits.connectTimeout
    if (options.identity !== undefined) session.upgradeIdentity = options.identity
    if (options.request !== undefined) session.upgradeRequest = options.request
    this.#sessions.add(session)
    return session
  }

  /** See `Hub.openStream` (which checks the hub is open). */
  openStream(request: StreamRequest, createTransport: () => Transport): Promise<Session> {
    return openAdmittedStream(
      {
        maxStreamChannels: this.#limits.maxStreamChannels,
        namespaces: this.#namespaces,
        authenticate: (r) => this.#hub.authenticate(r),
      },
      request,
      (identity) => {
        const hub = this.#hub
        hub.limiter.admitUser(identity.user, this.#sessions.ofUser(identity.user)?.size ?? 0)
        const session = new Session(hub, createTransport())
        session.identify(identity.user, identity.info, identity.expiresAt ?? 0)
        this.#sessions.register(session)
        return { session, ttl: ttlSeconds(session.expiresAt, this.#now()) }
      },
      (session, channel, cursor) =>
        this.#registry.serverSubscribe(session, channel, this.#namespaces.of(channel), cursor),
      (session, err) => {
        // The response has started: end the stream with a reconnect code rather than throw.
        this.#onError(err, { session, op: 'subscribe' })
        this.#hub.disconnectSession(session, DisconnectCode.SERVER_ERROR, 'subscribe failed')
      },
    )
  }

  /** See `Hub.disconnectSession`: a `disconnect` push, then the transport closed with `code`. */
  disconnect(session: Session, code: number, reason: string, delay?: number): void {
    if (session.state === CLOSED) return
    // What the session was queued in this write window goes out first (with a `writeDelay` it
    // may be up to a window of publications). A caller that drops it (a slow consumer, a write
    // that threw) discards it before calling here.
    try {
      session.flush()
    } catch {}
    session.discard()
    this.#hub.recorder.disconnect(code)
    try {
      session.transport.write([
        session.format.prepare({
          type: 'disconnect',
          code,
          reason,
          reconnect: reconnectAllowed(code),
          ...(delay === undefined ? null : { delay }),
        }),
      ])
    } catch {}
    this.#forget(session)
    try {
      session.transport.close(code, reason)
    } catch (err) {
      this.#onError(err)
    }
  }

  /** See `Hub.endAfterReplies`: commands still running after `REPLY_GRACE_MS` are not waited for. */
  endAfterReplies(session: Session, code: number, reason: string): void {
    if (session.state === CLOSED) return
    session.closing ??= { code, reason, deadline: this.#now() + REPLY_GRACE_MS }
    if (session.inflight > 0 || session.connecting) return // the last reply calls back here
    session.flush()
    this.#hub.disconnectSession(session, session.closing.code, session.closing.reason)
  }

  /** See `Hub.sessionClosed`: the transport is gone. */
  closed(session: Session): void {
    if (session.state === CLOSED) return
    this.#hub.recorder.disconnect('client')
    this.#forget(session)
  }

  #forget(session: Session): void {
    session.state = CLOSED
    session.discard()
    this.#sessions.remove(session)
    for (const channel of [...session.subs.keys()])
      this.#registry.unsubscribe(session, channel, false)
  }

  /** Ends the sessions whose credential expired, whose `connect` never came, or whose owed
   * replies are past their grace. */
  sweep(now: number): void {
    const hub = this.#hub
    this.#sessions.sweep(
      now,
      (s) => hub.disconnectSession(s, DisconnectCode.TOKEN_EXPIRED, 'token expired'),
      (s) => hub.disconnectSession(s, DisconnectCode.STALE, 'connect timeout'),
      (s) => {
        s.flush()
        hub.disconnectSession(s, s.closing!.code, s.closing!.reason)
      },
    )
  }

  /** See `Hub.drainItems`: one item per live session, ending it with 3000 and a `delay` hint. */
  drainItems(): { close(delayHint: number): void }[] {
    return this.#sessions.all().map((session) => ({
      close: (delay: number) =>
        this.#hub.disconnectSession(
          session,
          DisconnectCode.SHUTDOWN,
          'server shutting down',
          delay,
        ),
    }))
  }

  /** Ends every session with 3000 (shutdown, reconnect), for the hub's close. */
  closeAll(): void {
    for (const session of this.#sessions.all()) {
      this.#hub.disconnectSession(session, DisconnectCode.SHUTDOWN, 'server shutting down')
    }
  }
}
