import {
  type Broker,
  type BrokerHandler,
  type BrokerHealth,
  type BrokerHistoryResult,
  type ControlMessage,
  MemoryBroker,
} from '../broker/index.ts'
import { type ERRORS, SwitchboardError } from '../errors/index.ts'
import {
  type ClientCommand,
  type ClientInfo,
  checkCommand,
  DisconnectCode,
  isDisconnectCode,
  type PresenceResult,
  type Publication,
  type PublishResult,
  type RefreshCommand,
  type RefreshResult,
  type Reply,
  reconnectAllowed,
  type StreamPosition,
} from '../protocol/index.ts'
import { type ConnectHook, type Identity, StreamTickets } from './auth.ts'
import type { Caller, CommandEnv, RpcHandler } from './commands.ts'
import { type Namespace, type NamespaceOptions, Namespaces } from './namespace.ts'
import { PreparedMessage } from './prepared.ts'
import { presenceOf } from './presence.ts'
import { ChannelRegistry } from './registry.ts'
import {
  CLOSED,
  CONNECTED,
  CONNECTING,
  Session,
  type SessionLimits,
  type SessionOwner,
} from './session.ts'
import { SessionCommands } from './session-commands.ts'
import { admitStream, type StreamRequest } from './stream-admission.ts'
import type { Transport } from './transport.ts'

export type { StreamRequest } from './stream-admission.ts'

/** Options of a {@link Hub}; every limit has a safe default. */
export interface HubOptions {
  /** Storage and cross-node delivery. Default: a new {@link MemoryBroker}. */
  broker?: Broker
  /** Verifies credentials (`jwtAuth(...)` or a custom hook). Default: everyone connects as the
   * anonymous user `''`. */
  auth?: ConnectHook
  /** Namespaces declared up front (same as calling `hub.namespace`). The default namespace `''`
   * exists with default options unless given here. */
  namespaces?: Record<string, NamespaceOptions>
  /** Secret shared by all nodes for stream tickets (≥ 16 bytes). Default: random per process. */
  ticketSecret?: string
  /** Bytes queued per session before the slow-consumer policy applies. Default 1 MiB. */
  maxOutboxBytes?: number
  /** Largest inbound command in bytes. Default 65 536. */
  maxCommandBytes?: number
  /** Subscriptions per session. Default 128. */
  maxSubscriptions?: number
  /** Channels per SSE stream. Default 32. */
  maxStreamChannels?: number
  /** Commands of one connection processed at once (more get SWB_ERR_PROTOCOL_TOO_MANY_REQUESTS).
   * Default 64. */
  maxInflight?: number
  /** Largest `limit` of a history command. Default 1000. */
  maxHistoryLimit?: number
  /** Milliseconds a new WebSocket session has to send `connect`. Default 10 000. */
  connectTimeout?: number
  /** Milliseconds between checks of token expiry and connect timeouts. Default 1000. */
  sweepInterval?: number
  /** Clock (ms), for tests. Default `Date.now`. */
  now?: () => number
  /** Called with errors the hub cannot answer to anyone (broker failures in fan-out). */
  onError?: (error: unknown) => void
}

/** Options of `hub.publish`. */
export interface HubPublishOptions {
  /** A retried publish with the same key is applied once. */
  idempotencyKey?: string
  /** Conflation key. */
  key?: string
  /** Publisher shown to subscribers. */
  info?: ClientInfo
}

/** Counters of one hub. */
export interface HubStats {
  /** Publications accepted through this hub. */
  published: number
  /** Publication frames queued to sessions. */
  delivered: number
  /** Publications dropped by slow-consumer policies. */
  dropped: number
}

function fail(code: keyof typeof ERRORS, message?: string): never {
  throw new SwitchboardError(code, message)
}

function flushAll(hub: Hub): void {
  hub.flushNow()
}

function sweepSessions(hub: Hub): void {
  hub.sweep()
}

/**
 * The channels hub: sessions, namespaces, history and recovery, presence, slow-consumer
 * policies and fan-out. Every publication is validated, given its `{ offset, epoch }` by the
 * broker, prepared once per wire format in use, and the same frame is queued to every
 * subscriber; each session's queue is written once per event-loop turn.
 *
 * @example
 * const hub = new Hub({ auth: jwtAuth({ secret }) })
 * hub.namespace('chat', { presence: true, joinLeave: true, clientPublish: true })
 * hub.rpc('time', () => Date.now())
 * await hub.publish('chat:lobby', { text: 'hello' })
 */
export class Hub implements SessionOwner {
  readonly broker: Broker
  readonly limits: SessionLimits
  readonly stats: HubStats = { published: 0, delivered: 0, dropped: 0 }
  readonly tickets: StreamTickets
  readonly #auth: ConnectHook | null
  readonly #namespaces = new Namespaces()
  readonly #env: CommandEnv
  readonly #registry: ChannelRegistry
  readonly #sessions = new Map<string, Session>()
  readonly #users = new Map<string, Set<Session>>()
  readonly #rpc = new Map<string, RpcHandler>()
  readonly #now: () => number
  readonly #onError: (error: unknown) => void
  readonly #healthy: BrokerHealth = { healthy: true, since: Date.now() }
  readonly #connectTimeout: number
  readonly #maxStreamChannels: number
  readonly #maxHistoryLimit: number
  readonly #ready: Promise<void>
  readonly #commands: SessionCommands
  #dirty: Session[] = []
  #flushScheduled = false
  #timer: ReturnType<typeof setInterval> | null
  #closed = false

  constructor(options: HubOptions = {}) {
    const positive = (name: keyof HubOptions, fallback: number): number => {
      const v = options[name] ?? fallback
      if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
        fail('SWB_ERR_INVALID_OPTION', `Hub option ${name} must be a positive integer`)
      }
      return v
    }
    this.limits = Object.freeze({
      maxOutboxBytes: positive('maxOutboxBytes', 1 << 20),
      maxCommandBytes: positive('maxCommandBytes', 65_536),
      maxSubscriptions: positive('maxSubscriptions', 128),
      maxRecoveryBuffer: 10_000,
      maxInflight: positive('maxInflight', 64),
    })
    this.#maxStreamChannels = positive('maxStreamChannels', 32)
    this.#maxHistoryLimit = positive('maxHistoryLimit', 1000)
    this.#connectTimeout = positive('connectTimeout', 10_000)
    const sweepInterval = positive('sweepInterval', 1000)
    this.#now = options.now ?? Date.now
    this.#onError = options.onError ?? (() => {})
    this.#auth = options.auth ?? null
    this.tickets = new StreamTickets({ secret: options.ticketSecret, now: this.#now })
    this.broker = options.broker ?? new MemoryBroker()
    for (const [name, ns] of Object.entries(options.namespaces ?? {})) this.namespace(name, ns)
    this.#registry = new ChannelRegistry(this.broker, this.#onError)
    this.#env = {
      broker: this.broker,
      namespaces: this.#namespaces,
      rpc: this.#rpc,
      maxHistoryLimit: this.#maxHistoryLimit,
      publish: (ns, channel, data, idempotencyKey, key, info) =>
        this.#publish(ns, channel, data, idempotencyKey, key, info),
      presence: (channel) => this.presence(channel),
    }
    this.#ready = this.broker.start(this.#brokerHandler())
    this.#ready.catch(this.#onError)
    this.#registry.ready = this.#ready
    this.#commands = new SessionCommands({
      limits: this.limits,
      ready: this.#ready,
      namespaces: this.#namespaces,
      registry: this.#registry,
      env: this.#env,
      now: this.#now,
      authenticate: (request) => this.authenticate(request),
      register: (session) => this.#register(session),
      disconnectSession: (session, code, reason) => this.disconnectSession(session, code, reason),
      onError: this.#onError,
    })
    this.#timer = setInterval(sweepSessions, sweepInterval, this)
    this.#timer.unref?.()
  }

  // ------------------------------------------------------------------------------------------
  // Declaration

  /**
   * Declares a namespace: every channel named `<name>:…` gets these options. `''` is the
   * default namespace (channels without `:`).
   *
   * @example
   * hub.namespace('cursor', { historySize: 0, slowConsumer: 'conflate', clientPublish: true })
   */
  namespace(name: string, options: NamespaceOptions = {}): Namespace {
    return this.#namespaces.declare(name, options)
  }

  /**
   * Registers an rpc method answered over any transport (and over HTTP POST).
   *
   * @example
   * hub.rpc('sum', (data) => (data as number[]).reduce((a, b) => a + b, 0))
   */
  rpc(method: string, handler: RpcHandler): this {
    if (typeof handler !== 'function')
      fail('SWB_ERR_INVALID_OPTION', 'rpc handler must be a function')
    this.#rpc.set(method, handler)
    return this
  }

  // ------------------------------------------------------------------------------------------
  // Sessions and transports

  /**
   * Makes a session for a new bidirectional connection (a WebSocket). The session waits for a
   * `connect` command; the transport feeds it with `receive`, `drain` and `closed`. An
   * `identity` established during the upgrade (a session cookie checked in the ws `upgrade`
   * hook) is used when the `connect` command carries no token.
   *
   * @example
   * const session = hub.connect(new WsTransport(conn, wireFormatFor(conn.protocol)!))
   */
  connect(transport: Transport, options: { identity?: Identity } = {}): Session {
    if (this.#closed) fail('SWB_ERR_HUB_CLOSED')
    const session = new Session(this, transport)
    session.connectDeadline = this.#now() + this.#connectTimeout
    if (options.identity !== undefined) session.upgradeIdentity = options.identity
    this.#sessions.set(session.id, session)
    return session
  }

  /**
   * Opens a one-way channel stream (SSE). Authenticates (ticket or token), checks the channel
   * list and `canSubscribe` before anything is written — so failures become HTTP errors — then
   * calls `createTransport`, subscribes every channel (resuming from `Last-Event-ID`) and returns
   * the connected session.
   *
   * @example
   * const session = await hub.openStream({ channels, lastEventId, ticket }, () =>
   *   new SseTransport(sink, channels))
   */
  async openStream(request: StreamRequest, createTransport: () => Transport): Promise<Session> {
    if (this.#closed) fail('SWB_ERR_HUB_CLOSED')
    const { identity, channels, cursors } = await admitStream(request, {
      maxStreamChannels: this.#maxStreamChannels,
      tickets: this.tickets,
      namespaces: this.#namespaces,
      authenticate: (r) => this.authenticate(r),
    })
    const session = new Session(this, createTransport())
    session.identify(identity.user, identity.info, identity.expiresAt ?? 0)
    this.#register(session)
    // Who the stream is, before any channel push: the client refreshes its credential over
    // HTTP POST with this `client` id (a stream cannot carry commands).
    const ttl = this.#ttlOf(session.expiresAt)
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
        await this.#registry.serverSubscribe(
          session,
          channel,
          this.#namespaces.of(channel),
          cursors?.get(channel),
        )
      }
    } catch (err) {
      // The response has started: end the stream with a reconnect code rather than throw.
      this.#onError(err)
      this.disconnectSession(session, DisconnectCode.SERVER_ERROR, 'subscribe failed')
    }
    return session
  }

  /**
   * Runs the connect hook on a credential (or makes the anonymous identity when the hub has no
   * hook). Throws `SWB_ERR_AUTH_UNAUTHORIZED` or `SWB_ERR_AUTH_TOKEN_EXPIRED`.
   */
  async authenticate(request: {
    token?: string | undefined
    data?: unknown
    transport: string
  }): Promise<Identity> {
    if (this.#auth === null) return { user: '' }
    let identity: Identity
    try {
      identity = await this.#auth({
        ...(request.token === undefined ? null : { token: request.token }),
        ...(request.data === undefined ? null : { data: request.data }),
        transport: request.transport,
      })
    } catch (err) {
      if (err instanceof SwitchboardError) throw err
      throw new SwitchboardError('SWB_ERR_AUTH_UNAUTHORIZED', undefined, { cause: err })
    }
    if (identity === null || typeof identity !== 'object' || typeof identity.user !== 'string') {
      fail('SWB_ERR_AUTH_UNAUTHORIZED')
    }
    if (identity.expiresAt !== undefined && identity.expiresAt <= this.#now()) {
      fail('SWB_ERR_AUTH_TOKEN_EXPIRED')
    }
    return identity
  }

  /**
   * Issues a short-lived stream ticket for an identity (for `EventSource`, which cannot send
   * headers). Serve it from an authenticated endpoint.
   *
   * @example
   * app.post('/switchboard/ticket', async (ctx) =>
   *   ctx.json({ ticket: hub.issueTicket(await hub.authenticate({ token, transport: 'http' })) }))
   */
  issueTicket(identity: Identity, ttl = 60_000): string {
    return this.tickets.issue(identity, ttl)
  }

  /**
   * Runs one command sent over HTTP POST, statelessly (any node can answer it: no sticky
   * sessions). Accepts `publish`, `rpc`, `presence`, `history`, `ping`, and `refresh` for an SSE
   * session: `{ id, type: 'refresh', token, client }` authenticates `token` (not the request's
   * credentials) and tells every node, through the broker, to extend session `client` if it
   * belongs to the token's user; the reply `{ ttl? }` does not say whether such a session exists.
   * Returns the HTTP status and the reply body.
   *
   * @example
   * app.post('/switchboard/command', async (ctx) => {
   *   const { status, body } = await hub.httpCommand(await ctx.readJson(), { token: bearer(ctx) })
   *   return ctx.status(status).json(body)
   * })
   */
  async httpCommand(
    body: unknown,
    credentials: { token?: string | undefined; ticket?: string | undefined } = {},
  ): Promise<{ status: number; body: Reply }> {
    const id = (body as { id?: unknown } | null)?.id
    const replyId = typeof id === 'number' ? id : 0
    try {
      let command: ClientCommand
      try {
        command = checkCommand(body)
      } catch (err) {
        throw new SwitchboardError('SWB_ERR_PROTOCOL_BAD_COMMAND', (err as Error).message)
      }
      if (command.type === 'refresh') {
        return { status: 200, body: { id: replyId, result: await this.#refreshStream(command) } }
      }
      if (!['publish', 'rpc', 'presence', 'history', 'ping'].includes(command.type)) {
        fail('SWB_ERR_PROTOCOL_BAD_COMMAND', `${command.type} is not available over HTTP`)
      }
      const identity =
        credentials.ticket !== undefined
          ? this.tickets.verify(credentials.ticket)
          : await this.authenticate({ token: credentials.token, transport: 'http' })
      const caller: Caller = {
        user: identity.user,
        client: '',
        info: identity.info,
        session: null,
        clientInfo: {
          user: identity.user,
          client: '',
          ...(identity.info === undefined ? null : { info: identity.info }),
        },
      }
      const result = await this.#commands.runStateless(caller, command)
      return { status: 200, body: { id: replyId, result } }
    } catch (err) {
      const error = this.#commands.toReplyError(err)
      const status = err instanceof SwitchboardError ? err.status : 500
      return { status, body: { id: replyId, error } }
    }
  }

  // ------------------------------------------------------------------------------------------
  // Server API

  /**
   * Publishes from the server: validated against the namespace schema, given its position by
   * the broker, and fanned out. Resolves to the position.
   *
   * @example
   * const { offset, epoch } = await hub.publish('ticker:ACME', { px: 12.5 }, { key: 'ACME' })
   */
  async publish(
    channel: string,
    data: unknown,
    options: HubPublishOptions = {},
  ): Promise<PublishResult> {
    const ns = this.#namespaces.of(channel)
    const value = await this.#namespaces.validate(ns, data)
    return this.#publish(ns, channel, value, options.idempotencyKey, options.key, options.info)
  }

  /**
   * Sends `data` to every connection of `user` on every node (a `message` push).
   *
   * @example
   * await hub.sendToUser('42', { notice: 'Your export is ready' })
   */
  async sendToUser(user: string, data: unknown): Promise<void> {
    await this.#ready
    await this.broker.publishControl({ type: 'user-message', user, data })
  }

  /**
   * Disconnects a session, or every session of a user id on every node, with a code in
   * 3000–4999 (default 3003, reconnect allowed) and a reason.
   *
   * @example
   * await hub.disconnect('42', DisconnectCode.FORCE_NO_RECONNECT, 'banned')
   */
  async disconnect(
    target: string | Session,
    code: number = DisconnectCode.FORCE_RECONNECT,
    reason = '',
  ): Promise<void> {
    if (!isDisconnectCode(code)) fail('SWB_ERR_INVALID_OPTION', 'disconnect code must be 3000-4999')
    if (typeof target !== 'string') {
      this.disconnectSession(target, code, reason)
      return
    }
    await this.#ready
    await this.broker.publishControl({ type: 'disconnect', user: target, code, reason })
  }

  /**
   * Subscribes a session, or every session of a user on every node, to a channel from the
   * server side (no `canSubscribe` check). The client receives a `subscribe` push.
   */
  async subscribe(target: string | Session, channel: string): Promise<void> {
    this.#namespaces.of(channel)
    if (typeof target !== 'string') {
      if (target.state !== CONNECTED) fail('SWB_ERR_PROTOCOL_NOT_CONNECTED')
      await this.#registry.serverSubscribe(target, channel, this.#namespaces.of(channel), undefined)
      return
    }
    await this.#ready
    await this.broker.publishControl({ type: 'subscribe', user: target, channel })
  }

  /** Unsubscribes a session, or a user's sessions on every node, with an `unsubscribe` push
   * (code 3504: the client does not resubscribe by itself). */
  async unsubscribe(target: string | Session, channel: string): Promise<void> {
    if (typeof target !== 'string') {
      this.#registry.unsubscribe(target, channel, true)
      return
    }
    await this.#ready
    await this.broker.publishControl({ type: 'unsubscribe', user: target, channel })
  }

  /** The presence of a channel (counts only above the namespace's member threshold). */
  async presence(channel: string): Promise<PresenceResult> {
    const ns = this.#namespaces.of(channel)
    if (!ns.presence) fail('SWB_ERR_CHANNEL_PRESENCE_DISABLED')
    await this.#ready
    return presenceOf(this.broker, ns, channel)
  }

  /** Whether the broker works end to end now (a broker that does not report health is always
   * healthy). A readiness endpoint should answer 503 while it is not. */
  brokerHealth(): BrokerHealth {
    return this.broker.health?.() ?? this.#healthy
  }

  /** Number of presence members of a channel. */
  async presenceCount(channel: string): Promise<number> {
    const ns = this.#namespaces.of(channel)
    if (!ns.presence) fail('SWB_ERR_CHANNEL_PRESENCE_DISABLED')
    await this.#ready
    return this.broker.presenceCount(channel)
  }

  /** A channel's history, oldest first. */
  async history(
    channel: string,
    options: { since?: StreamPosition; limit?: number } = {},
  ): Promise<BrokerHistoryResult> {
    this.#namespaces.of(channel)
    await this.#ready
    return this.broker.history(channel, options)
  }

  /** Connections on this node. */
  get connectionCount(): number {
    return this.#sessions.size
  }

  /** Channels with at least one subscriber on this node. */
  get channelCount(): number {
    return this.#registry.size
  }

  /** Distinct signed-in users connected to this node. */
  get userCount(): number {
    return this.#users.size
  }

  /** Local subscribers of a channel. */
  subscriberCount(channel: string): number {
    return this.#registry.subscriberCount(channel)
  }

  /** The session with this connection id on this node. */
  getSession(client: string): Session | undefined {
    return this.#sessions.get(client)
  }

  /** The sessions of a user on this node. */
  sessionsOf(user: string): Session[] {
    return [...(this.#users.get(user) ?? [])]
  }

  /** Disconnects every session with 3000 (shutdown, reconnect) and closes the broker. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    for (const session of [...this.#sessions.values()]) {
      this.disconnectSession(session, DisconnectCode.SHUTDOWN, 'server shutting down')
    }
    await this.broker.close()
  }

  // ------------------------------------------------------------------------------------------
  // SessionOwner

  /** @internal Queues a session for the flush at the end of this event-loop turn. */
  scheduleFlush(session: Session): void {
    this.#dirty.push(session)
    if (!this.#flushScheduled) {
      this.#flushScheduled = true
      setImmediate(flushAll, this)
    }
  }

  /** @internal Writes every dirty session's outbox (once per event-loop turn). */
  flushNow(): void {
    this.#flushScheduled = false
    const dirty = this.#dirty
    this.#dirty = []
    for (const session of dirty) {
      try {
        session.flush()
      } catch (err) {
        this.#onError(err)
        this.disconnectSession(session, DisconnectCode.SERVER_ERROR, 'write failed')
      }
    }
  }

  /** @internal Ends a session: a `disconnect` push, the transport closed with `code`. */
  disconnectSession(session: Session, code: number, reason: string): void {
    if (session.state === CLOSED) return
    session.discard()
    try {
      session.transport.write([
        session.format.prepare({
          type: 'disconnect',
          code,
          reason,
          reconnect: reconnectAllowed(code),
        }),
      ])
    } catch {}
    this.sessionClosed(session)
    try {
      session.transport.close(code, reason)
    } catch (err) {
      this.#onError(err)
    }
  }

  /** @internal The transport is gone: unsubscribe everything, forget the session. */
  sessionClosed(session: Session): void {
    if (session.state === CLOSED) return
    session.state = CLOSED
    session.discard()
    this.#sessions.delete(session.id)
    const mine = this.#users.get(session.user)
    if (mine !== undefined) {
      mine.delete(session)
      if (mine.size === 0) this.#users.delete(session.user)
    }
    for (const channel of [...session.subs.keys()])
      this.#registry.unsubscribe(session, channel, false)
  }

  /** @internal Runs one command of a session and queues its reply (see {@link SessionCommands}). */
  dispatch(session: Session, command: ClientCommand): void {
    this.#commands.dispatch(session, command)
  }

  /** @internal Disconnects sessions whose token expired or that never connected. */
  sweep(): void {
    const now = this.#now()
    for (const session of this.#sessions.values()) {
      if (session.state === CONNECTED) {
        if (session.expiresAt !== 0 && session.expiresAt <= now) {
          this.disconnectSession(session, DisconnectCode.TOKEN_EXPIRED, 'token expired')
        }
      } else if (
        session.state === CONNECTING &&
        !session.connecting &&
        session.connectDeadline <= now
      ) {
        this.disconnectSession(session, DisconnectCode.STALE, 'connect timeout')
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // Channels

  async #publish(
    ns: Namespace,
    channel: string,
    data: unknown,
    idempotencyKey: string | undefined,
    key: string | undefined,
    info: ClientInfo | undefined,
  ): Promise<PublishResult> {
    await this.#ready
    const res = await this.broker.publish(channel, data, {
      history: ns.history,
      idempotencyWindow: ns.idempotencyWindow,
      ...(idempotencyKey === undefined ? null : { idempotencyKey }),
      ...(key === undefined ? null : { key }),
      ...(info === undefined ? null : { info }),
    })
    if (!res.duplicate) this.stats.published++
    return res.duplicate
      ? { offset: res.offset, epoch: res.epoch, duplicate: true }
      : { offset: res.offset, epoch: res.epoch }
  }

  /** Seconds left of a credential expiring at `expiresAt` (ms; 0 = never: undefined). */
  #ttlOf(expiresAt: number): number | undefined {
    return expiresAt === 0 ? undefined : Math.max(0, Math.floor((expiresAt - this.#now()) / 1000))
  }

  /** `refresh` over HTTP: authenticate the new token, then let the node holding the stream's
   * session extend it (see `#control`). */
  async #refreshStream(command: RefreshCommand): Promise<RefreshResult> {
    if (command.client === undefined) {
      fail('SWB_ERR_PROTOCOL_BAD_COMMAND', 'refresh over HTTP needs client (the stream session id)')
    }
    const identity = await this.authenticate({ token: command.token, transport: 'http' })
    const expiresAt = identity.expiresAt ?? 0
    await this.#ready
    await this.broker.publishControl({
      type: 'refresh',
      user: identity.user,
      client: command.client,
      expiresAt,
    })
    const ttl = this.#ttlOf(expiresAt)
    return ttl === undefined ? {} : { ttl }
  }

  #register(session: Session): void {
    this.#sessions.set(session.id, session)
    if (session.user === '') return
    let set = this.#users.get(session.user)
    if (set === undefined) {
      set = new Set()
      this.#users.set(session.user, set)
    }
    set.add(session)
  }

  #brokerHandler(): BrokerHandler {
    const registry = this.#registry
    const hub = this
    return {
      onPublication(channel: string, publication: Publication, epoch: string): void {
        registry.publish(channel, publication, epoch)
      },
      onJoin(channel: string, info: ClientInfo): void {
        registry.pushJoinLeave(channel, new PreparedMessage({ type: 'join', channel, info }))
      },
      onLeave(channel: string, info: ClientInfo): void {
        registry.pushJoinLeave(channel, new PreparedMessage({ type: 'leave', channel, info }))
      },
      onControl(message: ControlMessage): void {
        hub.#control(message)
      },
      onError: this.#onError,
    }
  }

  #serverSubscribeSafe(session: Session, channel: string): void {
    let ns: Namespace
    try {
      ns = this.#namespaces.of(channel)
    } catch (err) {
      this.#onError(err)
      return
    }
    this.#registry.serverSubscribe(session, channel, ns, undefined).catch(this.#onError)
  }

  #control(message: ControlMessage): void {
    const sessions = message.user === undefined ? null : this.#users.get(message.user)
    switch (message.type) {
      case 'user-message': {
        if (sessions === undefined || sessions === null) return
        const prepared = new PreparedMessage({ type: 'message', data: message.data })
        for (const s of sessions) s.enqueue(prepared.frame(s.format))
        return
      }
      case 'disconnect': {
        const targets = [...(sessions ?? [])]
        if (message.client !== undefined) {
          const s = this.#sessions.get(message.client)
          if (s !== undefined) targets.push(s)
        }
        for (const s of targets) this.disconnectSession(s, message.code, message.reason)
        return
      }
      case 'subscribe':
        for (const s of [...(sessions ?? [])]) {
          if (!s.subs.has(message.channel)) this.#serverSubscribeSafe(s, message.channel)
        }
        return
      case 'unsubscribe':
        for (const s of [...(sessions ?? [])]) this.#registry.unsubscribe(s, message.channel, true)
        return
      case 'refresh': {
        // Only the session's own user may extend it: a token for someone else changes nothing.
        const s = this.#sessions.get(message.client)
        if (s !== undefined && s.state === CONNECTED && s.user === message.user) {
          s.expiresAt = message.expiresAt
        }
        return
      }
    }
  }
}
