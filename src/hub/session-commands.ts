import { ERRORS, SwitchboardError } from '../errors/index.ts'
import {
  type ClientCommand,
  DisconnectCode,
  PROTOCOL_VERSION,
  type ReplyError,
  type SubscribeResult,
} from '../protocol/index.ts'
import type { AuthenticateRequest, Identity } from './auth.ts'
import type { Subscription } from './channel-state.ts'
import {
  type Caller,
  type CommandEnv,
  callerOf,
  contextOf,
  replyErrorOf,
  runCommand,
} from './commands.ts'
import type { Limiter } from './limits.ts'
import type { Namespaces } from './namespace.ts'
import type { ChannelRegistry } from './registry.ts'
import type { ErrorScope } from './report.ts'
import { CONNECTED, CONNECTING, type Session, type SessionLimits } from './session.ts'

/** What the command path needs of its hub. */
export interface SessionCommandHost {
  readonly limits: SessionLimits
  /** Settles once the broker has started. */
  readonly ready: Promise<void>
  readonly namespaces: Namespaces
  readonly registry: ChannelRegistry
  readonly env: CommandEnv
  now(): number
  authenticate(request: AuthenticateRequest): Promise<Identity>
  /** Indexes a session that just connected (by id and user). */
  register(session: Session): void
  /** Sessions of a user on this node. */
  userSessions(user: string): number
  readonly limiter: Limiter
  disconnectSession(session: Session, code: number, reason: string): void
  endAfterReplies(session: Session, code: number, reason: string): void
  onError(error: unknown, scope?: ErrorScope): void
}

function fail(code: keyof typeof ERRORS, message?: string): never {
  throw new SwitchboardError(code, message)
}

/**
 * The command path of connected sessions (protocol v1 over WebSocket or any two-way transport):
 * `connect` (authentication, server-side channels from the identity, commands that arrived while
 * it ran), then subscribe, unsubscribe, refresh and the stateless commands, each answered by a
 * reply or a coded error, with at most `maxInflight` running per session.
 *
 * @example
 * const commands = new SessionCommands(host)
 * commands.dispatch(session, { id: 1, type: 'connect', token })
 */
export class SessionCommands {
  readonly #host: SessionCommandHost

  constructor(host: SessionCommandHost) {
    this.#host = host
  }

  /** Runs one command of a session and queues its reply. */
  dispatch(session: Session, command: ClientCommand): void {
    if (command.type === 'connect') {
      void this.#connect(session, command)
      return
    }
    if (session.state !== CONNECTED) {
      if (session.connecting) {
        session.pending ??= []
        if (session.pending.length < 16) session.pending.push(command)
        else
          session.replyError(
            command.id,
            this.toReplyError(new SwitchboardError('SWB_ERR_PROTOCOL_NOT_CONNECTED'), {
              session,
              op: command.type,
            }),
          )
        return
      }
      session.replyError(
        command.id,
        this.toReplyError(new SwitchboardError('SWB_ERR_PROTOCOL_NOT_CONNECTED'), {
          session,
          op: command.type,
        }),
      )
      return
    }
    if (session.inflight >= this.#host.limits.maxInflight) {
      this.#host.env.metrics.recorder.limitRefused('inflight')
      session.replyError(command.id, {
        ...this.toReplyError(new SwitchboardError('SWB_ERR_PROTOCOL_TOO_MANY_REQUESTS'), {
          session,
          op: command.type,
        }),
        temporary: true,
      })
      return
    }
    session.inflight++
    void this.#command(session, command)
  }

  async #connect(
    session: Session,
    command: Extract<ClientCommand, { type: 'connect' }>,
  ): Promise<void> {
    if (session.state !== CONNECTING || session.connecting) {
      session.replyError(
        command.id,
        this.toReplyError(new SwitchboardError('SWB_ERR_PROTOCOL_ALREADY_CONNECTED')),
      )
      return
    }
    session.connecting = true
    let identity: Identity
    try {
      await this.#host.ready
      const known = session.upgradeIdentity
      if (command.token === undefined && known !== null) {
        if (known.expiresAt !== undefined && known.expiresAt <= this.#host.now()) {
          fail('SWB_ERR_AUTH_TOKEN_EXPIRED')
        }
        identity = known
      } else {
        identity = await this.#host.authenticate({
          token: command.token,
          data: command.data,
          transport: session.format.name,
          request: session.upgradeRequest ?? undefined,
        })
      }
      this.#host.limiter.admitUser(identity.user, this.#host.userSessions(identity.user))
    } catch (err) {
      session.connecting = false
      session.upgradeRequest = null
      session.replyError(command.id, this.toReplyError(err, { session, op: 'connect' }))
      const close =
        err instanceof SwitchboardError
          ? (err.closeCode ?? DisconnectCode.UNAUTHORIZED)
          : DisconnectCode.UNAUTHORIZED
      session.flush()
      this.#host.disconnectSession(session, close, 'connect refused')
      return
    }
    session.connecting = false
    session.upgradeRequest = null
    if (session.isClosed) return
    session.identify(identity.user, identity.info, identity.expiresAt ?? 0)
    this.#host.register(session)
    const subs: Record<string, SubscribeResult> = {}
    const live: [Subscription, SubscribeResult][] = []
    const authorize = identity.authorizeChannels === true
    for (const channel of identity.channels ?? []) {
      try {
        const ns = this.#host.namespaces.of(channel)
        // Channels a credential asked for (a JWT claim) pass canSubscribe like the client's own.
        const check =
          authorize && ns.canSubscribe !== null
            ? () => this.#host.namespaces.checkSubscribe(ns, contextOf(callerOf(session), channel))
            : null
        const { sub, result } = await this.#host.registry.subscribe(
          session,
          channel,
          ns,
          undefined,
          check,
        )
        subs[channel] = result
        live.push([sub, result])
      } catch (err) {
        // A refused channel is left out; anything else is the server's own failure.
        if (!(err instanceof SwitchboardError && err.code === 'SWB_ERR_CHANNEL_FORBIDDEN')) {
          this.#host.onError(err, { session, channel, op: 'subscribe' })
        }
      }
    }
    if (session.isClosed) return
    const ttl =
      session.expiresAt === 0
        ? undefined
        : Math.max(0, Math.floor((session.expiresAt - this.#host.now()) / 1000))
    session.reply(command.id, {
      client: session.id,
      user: session.user,
      version: PROTOCOL_VERSION,
      ...(ttl === undefined ? null : { ttl }),
      ...(live.length === 0 ? null : { subs }),
    })
    for (const [sub, result] of live) sub.goLive(result.offset, result.epoch)
    const pending = session.pending
    session.pending = null
    if (pending !== null) for (const c of pending) this.dispatch(session, c)
    const closing = session.closing
    if (closing !== null && session.inflight === 0) {
      this.#host.endAfterReplies(session, closing.code, closing.reason)
    }
  }

  async #command(session: Session, command: ClientCommand): Promise<void> {
    try {
      if (command.type === 'subscribe') {
        const channel = command.channel
        const ns = this.#host.namespaces.of(channel)
        const ctx = contextOf(callerOf(session), channel)
        const { sub, result } = await this.#host.registry.subscribe(
          session,
          channel,
          ns,
          command.since,
          ns.canSubscribe === null ? null : () => this.#host.namespaces.checkSubscribe(ns, ctx),
        )
        session.reply(command.id, result)
        sub.goLive(result.offset, result.epoch)
        return
      }
      if (command.type === 'unsubscribe') {
        if (!session.subs.has(command.channel)) fail('SWB_ERR_CHANNEL_NOT_SUBSCRIBED')
        this.#host.registry.unsubscribe(session, command.channel, false)
        session.reply(command.id, {})
        return
      }
      if (command.type === 'refresh') {
        const identity = await this.#host.authenticate({
          token: command.token,
          transport: session.format.name,
        })
        if (identity.user !== session.user)
          fail('SWB_ERR_AUTH_UNAUTHORIZED', 'A refresh token must name the same user')
        session.expiresAt = identity.expiresAt ?? 0
        const ttl =
          session.expiresAt === 0
            ? undefined
            : Math.max(0, Math.floor((session.expiresAt - this.#host.now()) / 1000))
        session.reply(command.id, ttl === undefined ? {} : { ttl })
        return
      }
      session.reply(command.id, await this.runStateless(callerOf(session), command))
    } catch (err) {
      const channel = (command as { channel?: string }).channel
      session.replyError(command.id, this.toReplyError(err, { session, channel, op: command.type }))
    } finally {
      session.inflight--
      const closing = session.closing
      if (closing !== null && session.inflight === 0) {
        this.#host.endAfterReplies(session, closing.code, closing.reason)
      }
    }
  }

  /** Runs a command that needs no connection state (publish, rpc, presence, history, ping). */
  async runStateless(caller: Caller, command: ClientCommand): Promise<unknown> {
    if (command.type === 'publish' || command.type === 'rpc') {
      this.#host.limiter.take(command.type, caller.session, caller.user, this.#host.now())
    }
    await this.#host.ready
    return runCommand(this.#host.env, caller, command)
  }

  /** A reply error for anything thrown, reported with its `scope` (see `errorReporter`: refusals
   * at debug level); unknown errors are hidden from the client. */
  toReplyError(err: unknown, scope?: ErrorScope): ReplyError {
    const known = replyErrorOf(err)
    if (scope !== undefined) this.#host.onError(err, scope)
    if (known !== null) return known
    if (scope === undefined) this.#host.onError(err)
    return { code: 'SWB_ERR_HUB_INTERNAL', message: ERRORS.SWB_ERR_HUB_INTERNAL.message }
  }
}
