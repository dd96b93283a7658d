import {
  type Broker,
  type BrokerHealth,
  type BrokerHistoryResult,
  MemoryBroker,
} from '../broker/index.ts'
import { type ERRORS, SwitchboardError } from '../errors/index.ts'
import {
  type ClientCommand,
  DisconnectCode,
  isDisconnectCode,
  type PresenceResult,
  type PublishResult,
  type Reply,
  type StreamPosition,
} from '../protocol/index.ts'
import {
  type AuthenticateRequest,
  type ConnectHook,
  checkIdentity,
  type HttpRequestInfo,
  type Identity,
  runConnectHook,
} from './auth.ts'
import type { RpcHandler } from './commands.ts'
import { FlushQueue } from './flush-queue.ts'
import { type HttpCommandEnv, runHttpCommand } from './http-command.ts'
import {
  type HubOptions,
  type HubPublishOptions,
  type HubStats,
  newStats,
  resolveLimits,
} from './hub-options.ts'
import { wireHub } from './hub-wiring.ts'
import { Limiter } from './limits.ts'
import { type Namespace, type NamespaceOptions, Namespaces } from './namespace.ts'
import { presenceOf } from './presence.ts'
import { type PublishHost, publishToBroker } from './publish.ts'
import { type MetricsRecorder, NO_METRICS } from './recorder.ts'
import type { ChannelRegistry } from './registry.ts'
import { errorReporter, type Report } from './report.ts'
import { RpcDeadlines } from './rpc-deadlines.ts'
import { CONNECTED, type Session, type SessionLimits, type SessionOwner } from './session.ts'
import type { SessionCommands } from './session-commands.ts'
import type { SessionLifecycle } from './session-lifecycle.ts'
import { SessionTable } from './session-table.ts'
import type { StreamRequest } from './stream-admission.ts'
import { StreamTickets, type TicketOptions } from './tickets.ts'
import type { TimedBroker } from './timed-broker.ts'
import type { Transport } from './transport.ts'

export type { HubOptions, HubPublishOptions, HubStats } from './hub-options.ts'
export type { StreamRequest } from './stream-admission.ts'

function fail(code: keyof typeof ERRORS, message?: string): never {
  throw new SwitchboardError(code, message)
}

/**
 * The channels hub: sessions, namespaces, history and recovery, presence, slow-consumer
 * policies and fan-out. Every publication is validated, given its `{ offset, epoch }` by the
 * broker, prepared once per wire format in use, and the same frame is queued to every
 * subscriber; each session's queue is written once per event-loop turn (or per
 * `writeDelay` ms).
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
  readonly stats: HubStats = newStats()
  /** Where disconnects, limits, recoveries, broker and rpc calls are counted ({@link MetricsRecorder}). */
  recorder: MetricsRecorder = NO_METRICS
  readonly tickets: StreamTickets
  /** Connection and rate limits, with the count of what each refused. */
  readonly limiter: Limiter
  readonly #auth: ConnectHook | null
  readonly #namespaces = new Namespaces()
  readonly #registry: ChannelRegistry
  readonly #sessions = new SessionTable()
  readonly #http: HttpCommandEnv
  readonly #rpc = new Map<string, RpcHandler>()
  readonly #rpcDeadlines: RpcDeadlines
  readonly #now: () => number
  readonly #onError: Report
  readonly #broker: TimedBroker
  readonly #publishing: PublishHost
  readonly #ready: Promise<void>
  readonly #commands: SessionCommands
  /** How sessions start and end (session-lifecycle.ts). */
  readonly #life: SessionLifecycle
  readonly #flush = new FlushQueue((session, err) => {
    this.#onError(err, { session, op: 'write' })
    session.discard() // a write that threw is not tried again before the disconnect push
    this.disconnectSession(session, DisconnectCode.SERVER_ERROR, 'write failed')
  })
  #timer: ReturnType<typeof setInterval> | null
  #closed = false
  #draining = false
  #started = false

  constructor(options: HubOptions = {}) {
    const limits = resolveLimits(options)
    this.limits = limits.session
    this.#flush.delay = limits.writeDelay
    this.#now = options.now ?? Date.now
    this.#rpcDeadlines = new RpcDeadlines(limits.rpcTimeout, this.#now)
    this.#onError = errorReporter(options.logger ?? null, options.onError ?? (() => {}))
    this.#auth = options.auth ?? null
    this.limiter = new Limiter(options.limits, this)
    this.tickets = new StreamTickets({ secret: options.ticketSecret, now: this.#now })
    this.broker = options.broker ?? new MemoryBroker()
    for (const [name, ns] of Object.entries(options.namespaces ?? {})) this.namespace(name, ns)
    const parts = wireHub(
      this,
      {
        broker: this.broker,
        namespaces: this.#namespaces,
        sessions: this.#sessions,
        rpc: this.#rpc,
        rpcDeadlines: this.#rpcDeadlines,
        limits,
        now: this.#now,
        onError: this.#onError,
      },
      () => {
        this.#started = true
      },
    )
    this.#broker = parts.broker
    this.#registry = parts.registry
    this.#life = parts.life
    this.#ready = parts.ready
    this.#publishing = parts.publishing
    this.#commands = parts.commands
    this.#http = parts.http
    this.#timer = setInterval(() => this.sweep(), limits.sweepInterval)
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
   * `connect` command; the transport feeds it with `receive`, `drain` and `closed`. The upgrade
   * `request` is given to the connect hook with the `connect` command's token (if any), so a
   * hook can identify the connection from its session cookie. An `identity` established during
   * the upgrade is used as is when the `connect` command carries no token.
   *
   * @example
   * const session = hub.connect(new WsTransport(conn, wireFormatFor(conn.protocol)!), { request })
   */
  connect(
    transport: Transport,
    options: { identity?: Identity; request?: HttpRequestInfo } = {},
  ): Session {
    if (this.#closed || this.#draining) fail('SWB_ERR_HUB_CLOSED')
    return this.#life.connect(transport, options)
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
    if (this.#closed || this.#draining) fail('SWB_ERR_HUB_CLOSED')
    return this.#life.openStream(request, createTransport)
  }

  /**
   * Establishes who a credential belongs to: a stream `ticket` (verified for its `ticketUse`),
   * else the connect hook on the token and request (or the anonymous identity when the hub has
   * no hook). Every identity, from a hook or a ticket, then passes the same check: a ticket
   * issued from a credential that has since expired is refused like the credential. Throws
   * `SWB_ERR_AUTH_UNAUTHORIZED` or `SWB_ERR_AUTH_TOKEN_EXPIRED`.
   *
   * @example
   * const identity = await hub.authenticate({ token: bearer, transport: 'http' })
   */
  async authenticate(request: AuthenticateRequest): Promise<Identity> {
    if (request.ticket !== undefined) {
      const use = request.ticketUse ?? { kind: 'commands' }
      return checkIdentity(this.tickets.verify(request.ticket, use), this.#now)
    }
    return runConnectHook(this.#auth, request, this.#now)
  }

  /**
   * Issues a short-lived ticket for an identity (for `EventSource`, which cannot send headers):
   * valid for a stream of `channels` (any of them) for `ttl` ms (default 30 s, never past the
   * identity's expiry), and for POST commands only with `commands: true`. Serve it from an
   * authenticated endpoint (`POST <path>/ticket?channel=…` does).
   *
   * @example
   * const ticket = hub.issueTicket(await hub.authenticate({ token, transport: 'http' }), {
   *   channels: ['chat:lobby'],
   * })
   */
  issueTicket(identity: Identity, options: TicketOptions = {}): string {
    return this.tickets.issue(identity, options)
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
    credentials: {
      token?: string | undefined
      ticket?: string | undefined
      request?: HttpRequestInfo | undefined
    } = {},
  ): Promise<{ status: number; body: Reply }> {
    return runHttpCommand(this.#http, body, credentials)
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
    return publishToBroker(this.#publishing, ns, channel, value, options)
  }

  /**
   * Sends `data` to every connection of `user` on every node (a `message` push).
   *
   * @example
   * await hub.sendToUser('42', { notice: 'Your export is ready' })
   */
  async sendToUser(user: string, data: unknown): Promise<void> {
    await this.#ready
    await this.#broker.publishControl({ type: 'user-message', user, data })
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
    await this.#broker.publishControl({ type: 'disconnect', user: target, code, reason })
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
    await this.#broker.publishControl({ type: 'subscribe', user: target, channel })
  }

  /** Unsubscribes a session, or a user's sessions on every node, with an `unsubscribe` push
   * (code 3504: the client does not resubscribe by itself). */
  async unsubscribe(target: string | Session, channel: string): Promise<void> {
    if (typeof target !== 'string') {
      this.#registry.unsubscribe(target, channel, true)
      return
    }
    await this.#ready
    await this.#broker.publishControl({ type: 'unsubscribe', user: target, channel })
  }

  /** The presence of a channel (counts only above the namespace's member threshold). */
  async presence(channel: string): Promise<PresenceResult> {
    const ns = this.#namespaces.of(channel)
    if (!ns.presence) fail('SWB_ERR_CHANNEL_PRESENCE_DISABLED')
    await this.#ready
    return presenceOf(this.#broker, ns, channel)
  }

  /** Whether the broker works end to end now (a broker that does not report health is always
   * healthy). A readiness endpoint should answer 503 while it is not. */
  brokerHealth(): BrokerHealth {
    return this.#broker.health()
  }

  /** Whether this hub should get traffic: its broker started and reports itself healthy. */
  readiness(): { ok: boolean; reason?: string } {
    if (!this.#started) return { ok: false, reason: 'broker starting' }
    const health = this.brokerHealth()
    return health.healthy ? { ok: true } : { ok: false, reason: health.reason ?? 'unhealthy' }
  }

  /** Number of presence members of a channel. */
  async presenceCount(channel: string): Promise<number> {
    if (!this.#namespaces.of(channel).presence) fail('SWB_ERR_CHANNEL_PRESENCE_DISABLED')
    await this.#ready
    return this.#broker.presenceCount(channel)
  }

  /** A channel's history, oldest first. */
  async history(
    channel: string,
    options: { since?: StreamPosition; limit?: number } = {},
  ): Promise<BrokerHistoryResult> {
    this.#namespaces.of(channel)
    await this.#ready
    return this.#broker.history(channel, options)
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
    return this.#sessions.userCount
  }

  /** Subscriptions on this node, all channels together. */
  get subscriptionCount(): number {
    return this.#registry.subscriptionCount
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
    return [...(this.#sessions.ofUser(user) ?? [])]
  }

  /**
   * Starts a drain: new sessions and streams are refused (`SWB_ERR_HUB_CLOSED`, 503), and the
   * returned items end each live session with 3000 (shutdown, reconnect) and a `delay` hint,
   * when a pacer calls them (`app.close({ drain })` does).
   */
  drainItems(): { close(delayHint: number): void }[] {
    this.#draining = true
    return this.#life.drainItems()
  }

  /** Disconnects every session with 3000 (shutdown, reconnect) and closes the broker. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    this.#rpcDeadlines.clear()
    this.#life.closeAll()
    await this.broker.close()
  }

  // ------------------------------------------------------------------------------------------
  // SessionOwner

  /** @internal Queues a session for the flush at the end of this event-loop turn. */
  scheduleFlush(session: Session): void {
    this.#flush.schedule(session)
  }

  /** @internal Ends a session: a `disconnect` push, the transport closed with `code`. */
  disconnectSession(session: Session, code: number, reason: string, delay?: number): void {
    this.#life.disconnect(session, code, reason, delay)
  }

  /**
   * @internal Ends a session for a protocol error (a bad or oversized frame) without losing the
   * replies it owes: nothing more is read, commands already received run to their replies, then
   * those replies are written, followed by the `disconnect` push, and the transport is closed.
   * Commands still running after `REPLY_GRACE_MS` are not waited for: the client fails them as
   * disconnected (the SDK's `SWB_ERR_CLIENT_DISCONNECTED`).
   */
  endAfterReplies(session: Session, code: number, reason: string): void {
    this.#life.endAfterReplies(session, code, reason)
  }

  /** @internal The transport is gone: unsubscribe everything, forget the session. */
  sessionClosed(session: Session): void {
    this.#life.closed(session)
  }

  /** @internal Runs one command of a session and queues its reply (see {@link SessionCommands}). */
  dispatch(session: Session, command: ClientCommand): void {
    this.#commands.dispatch(session, command)
  }

  /** @internal Expiry, connect timeouts, limiter buckets, and rpc calls past `rpcTimeout`. */
  sweep(): void {
    const now = this.#now()
    this.limiter.sweep(now)
    this.#rpcDeadlines.sweep(now)
    this.#life.sweep(now)
  }
}
