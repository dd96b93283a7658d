import { isDisconnectCode } from '../protocol/codes.ts'
import { jsonCodec } from '../protocol/json.ts'
import type {
  ConnectResult,
  DisconnectPush,
  HistoryResult,
  PresenceResult,
  PublicationPush,
  PublishResult,
  RefreshResult,
  Reply,
  ServerMessage,
  ServerPush,
  StreamPosition,
  SubscribeResult,
} from '../protocol/messages.ts'
import { Backoff, shouldReconnect } from './backoff.ts'
import { type ClientEvents, type ConnectionState, StateCode } from './client-events.ts'
import { Commands } from './commands.ts'
import { Emitter } from './emitter.ts'
import { ClientError, ClientErrorCode } from './errors.ts'
import {
  type ClientOptions,
  fetchTicket,
  positiveOption,
  type ResolvedOptions,
  resolveOptions,
  resolveToken,
} from './options.ts'
import { idempotencyKey, type QueuedCommand } from './outbox.ts'
import {
  refusalKind,
  refusedChannels,
  type StreamRefusal,
  TicketRefused,
} from './stream-refusal.ts'
import { type SubscribeOptions, Subscription } from './subscription.ts'
import type {
  ClientTransport,
  StreamChannel,
  TransportHandler,
  TransportName,
} from './transport.ts'
import { type EventSourceConstructor, type FetchLike, SseTransport } from './transport-sse.ts'
import { type WebSocketConstructor, WebSocketTransport } from './transport-ws.ts'
import type {
  ChannelName,
  PublicationData,
  PublishData,
  RpcInput,
  RpcMethod,
  RpcOutput,
  ServerDefinition,
} from './types.ts'
import { type ProbeEvent, UpgradeProbe } from './upgrade-probe.ts'
import { documentVisibility, Liveness, type VisibilitySource } from './visibility.ts'

/**
 * The Switchboard client: one connection (WebSocket, or SSE + HTTP POST as the fallback) that
 * reconnects with backoff, resubscribes with recovery, replays commands queued while it was
 * offline, and tells the application the truth about gaps. Runs in browsers and in Node.
 *
 * `D` is the server's definition type (see `types.ts`) for typed channels and rpc.
 *
 * @example
 * const client = new SwitchboardClient<App>({ url: 'wss://example.com/switchboard', token })
 * client.on('state', (e) => console.log(e.state, e.code, e.reason))
 * const room = client.subscribe('chat:room-1', {
 *   onPublication: (p) => show(p.data.text),
 *   onGap: (g) => reloadRoom(),
 * })
 * client.connect()
 * await client.publish('chat:room-1', { text: 'hi' })
 * const sum = await client.rpc('add', { a: 1, b: 2 }, { timeout: 2000 })
 */
export class SwitchboardClient<
  D extends ServerDefinition = ServerDefinition,
> extends Emitter<ClientEvents> {
  readonly #options: ClientOptions
  readonly #o: ResolvedOptions
  readonly #backoff: Backoff
  readonly #commands: Commands
  readonly #liveness: Liveness
  readonly #visibility: VisibilitySource | null
  readonly #subs = new Map<string, Subscription<unknown, unknown>>()
  /** The epoch each server-side subscription follows: pushes name it only when it changes. */
  readonly #serverEpochs = new Map<string, string>()
  #state: ConnectionState = 'disconnected'
  #transport: ClientTransport | null = null
  #generation = 0
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined
  #serverDisconnect: DisconnectPush | null = null
  /** WebSocket failed while SSE worked: stay on SSE (until an upgrade probe succeeds). */
  #sseSticky = false
  /** Created on the first SSE fallback that has a WebSocket constructor to probe with. */
  #probe: UpgradeProbe | null = null
  /** WebSocket connected at least once in this client's life. */
  #wsWorked = false
  /** WebSocket attempts in a row that failed before any message (reset by a WebSocket connect). */
  #wsFailures = 0
  /** The current attempt is an SSE fallback right after a WebSocket failure. */
  #fallingBack = false
  #sseReopenQueued = false
  /** A stream was refused with 401 and reopened with a fresh token; a second 401 stops. */
  #authRetried = false
  #refreshTimer: ReturnType<typeof setTimeout> | undefined
  /** The SSE stream's session id and credential ttl, from its `connected` push (null: none yet). */
  #stream: { client: string; ttl: number | undefined } | null = null
  #unwatchVisibility: (() => void) | null = null
  /** The channels the SSE stream being opened (or open) carries: fixed when it is opened. */
  #streamChannels: readonly string[] = []

  constructor(options: ClientOptions) {
    super()
    this.#o = resolveOptions(options)
    this.#options = options
    this.#backoff = new Backoff({
      minDelay: options.minReconnectDelay,
      maxDelay: options.maxReconnectDelay,
      factor: options.reconnectFactor,
      random: options.random,
    })
    const outboxSize = positiveOption(options, 'outboxSize', 1000)
    this.#commands = new Commands(Math.floor(outboxSize), () =>
      this.#state === 'connected' ? this.#transport : null,
    )
    this.#visibility = options.visibility === undefined ? documentVisibility() : options.visibility
    this.#liveness = new Liveness(
      { ping: (timeout) => this.#request({ type: 'ping' }, timeout), dead: this.#onDead },
      {
        interval: this.#o.pingInterval,
        timeout: this.#o.pongTimeout,
        visibility: this.#visibility,
      },
    )
  }

  /** Current connection state. */
  get state(): ConnectionState {
    return this.#state
  }

  /** The transport in use, or `null` when disconnected. */
  get transport(): TransportName | null {
    return this.#transport?.name ?? null
  }

  /** Commands waiting for a connection. */
  get outboxSize(): number {
    return this.#commands.outbox.size
  }

  /** Starts connecting (no-op unless `disconnected`). */
  connect(): void {
    if (this.#state !== 'disconnected') return
    this.#authRetried = false
    this.#setState('connecting', StateCode.CONNECT_CALLED, 'connect called')
    this.#unwatchVisibility ??= this.#visibility?.subscribe(this.#onVisibility) ?? null
    this.#open()
  }

  /** Closes the connection and stops reconnecting. Subscriptions and queued commands are kept
   * and resume on the next `connect()`. */
  disconnect(): void {
    if (this.#state === 'disconnected') return
    this.#closeTransport(1000, 'disconnect called')
    this.#afterClose(StateCode.DISCONNECT_CALLED, 'disconnect called')
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer)
    this.#reconnectTimer = undefined
    this.#unwatchVisibility?.()
    this.#unwatchVisibility = null
    this.#setState('disconnected', StateCode.DISCONNECT_CALLED, 'disconnect called')
  }

  /**
   * Subscribes to a channel (or returns the existing subscription). It becomes active when the
   * client is connected and is restored with recovery after every reconnect.
   */
  subscribe<C extends ChannelName<D>>(
    channel: C,
    options?: SubscribeOptions<PublicationData<D, C>>,
  ): Subscription<PublicationData<D, C>, PublishData<D, C>> {
    let sub = this.#subs.get(channel) as
      | Subscription<PublicationData<D, C>, PublishData<D, C>>
      | undefined
    if (sub === undefined) {
      sub = new Subscription(this, channel, options)
      this.#subs.set(channel, sub as Subscription<unknown, unknown>)
    }
    sub.subscribe()
    return sub
  }

  /** The subscription of `channel`, if any. */
  getSubscription<C extends ChannelName<D>>(
    channel: C,
  ): Subscription<PublicationData<D, C>, PublishData<D, C>> | undefined {
    return this.#subs.get(channel) as
      | Subscription<PublicationData<D, C>, PublishData<D, C>>
      | undefined
  }

  /** Unsubscribes and forgets a subscription. */
  removeSubscription(channel: string): void {
    const sub = this.#subs.get(channel)
    if (sub === undefined) return
    sub.unsubscribe()
    this.#subs.delete(channel)
  }

  /**
   * Publishes `data` to a channel. The publish carries an idempotency key (made here, or given),
   * so if it is queued while offline, or sent and then lost with its connection, it is sent again
   * after the reconnect and the server applies it once (`duplicate: true` on the second answer).
   */
  publish<C extends ChannelName<D>>(
    channel: C,
    data: PublishData<D, C>,
    options: { key?: string; idempotencyKey?: string } = {},
  ): Promise<PublishResult> {
    const command: QueuedCommand = {
      type: 'publish',
      channel,
      data,
      idempotencyKey: options.idempotencyKey ?? idempotencyKey(),
      ...(options.key === undefined ? null : { key: options.key }),
    }
    return this.#enqueue(command, this.#o.timeout, false) as Promise<PublishResult>
  }

  /**
   * Calls a server method. The promise rejects with `SWB_ERR_CLIENT_TIMEOUT` when no answer
   * arrives within `timeout` ms of the call (time spent queued while offline included), and with
   * `SWB_ERR_CLIENT_DISCONNECTED` when the connection drops after the call was sent (the client
   * cannot know whether it ran, so it does not resend it).
   */
  rpc<M extends RpcMethod<D>>(
    method: M,
    data?: RpcInput<D, M>,
    options: { timeout?: number } = {},
  ): Promise<RpcOutput<D, M>> {
    const command: QueuedCommand = { type: 'rpc', method, data }
    const timeout = options.timeout ?? this.#o.timeout
    return this.#enqueue(command, timeout, true).then((r) => (r as { data: RpcOutput<D, M> }).data)
  }

  /** Who is in a channel (members, or only a count above the server's threshold). */
  presence(channel: string): Promise<PresenceResult> {
    return this.#enqueue(
      { type: 'presence', channel },
      this.#o.timeout,
      false,
    ) as Promise<PresenceResult>
  }

  /** Publications the server keeps for a channel, after `since` (default: the oldest kept). */
  history(
    channel: string,
    options: { since?: StreamPosition; limit?: number } = {},
  ): Promise<HistoryResult> {
    const command: QueuedCommand = { type: 'history', channel, ...options }
    return this.#enqueue(command, this.#o.timeout, false) as Promise<HistoryResult>
  }

  /** Sends a `ping` now and resolves on the reply (rejects on timeout or when not connected). */
  ping(timeout = this.#o.pongTimeout): Promise<void> {
    return this.#request({ type: 'ping' }, timeout).then(() => undefined)
  }

  // --- subscriptions (called by Subscription) ---------------------------------------------

  /** @internal */
  _activate(sub: Subscription<unknown, unknown>): void {
    if (this.#state !== 'connected') return
    if (this.#transport?.name === 'websocket') this.#sendSubscribe(sub)
    else this.#queueSseReopen() // SSE, or an SSE stream being reopened right now
  }

  /** @internal */
  _deactivate(sub: Subscription<unknown, unknown>): void {
    if (this.#state !== 'connected') return
    if (this.#transport?.name === 'websocket') {
      this.#request({ type: 'unsubscribe', channel: sub.channel }, this.#o.timeout).catch(ignore)
    } else this.#queueSseReopen()
  }

  #sendSubscribe(sub: Subscription<unknown, unknown>): void {
    const since = sub._since()
    sub._sentSince = since
    const command: QueuedCommand =
      since === undefined
        ? { type: 'subscribe', channel: sub.channel }
        : { type: 'subscribe', channel: sub.channel, since }
    const generation = this.#generation
    this.#request(command, this.#o.timeout).then(
      (result) => sub._onSubscribed(result as SubscribeResult),
      (error: ClientError) => {
        if (generation !== this.#generation || sub.state !== 'subscribing') return
        if (error.code === ClientErrorCode.DISCONNECTED) return // resubscribed on reconnect
        sub._onError(error)
      },
    )
  }

  // --- commands ---------------------------------------------------------------------------

  /** Sends a command on the live transport now (no outbox); rejects when not connected.
   * `force`: also while connecting (the `connect` command itself). */
  #request(command: QueuedCommand, timeout: number, force = false): Promise<unknown> {
    const live = force || this.#state === 'connected' ? this.#transport : null
    return this.#commands.request(live, command, timeout)
  }

  #enqueue(command: QueuedCommand, timeout: number, deadline: boolean): Promise<unknown> {
    const live = this.#state === 'connected' ? this.#transport : null
    return this.#commands.enqueue(live, command, timeout, deadline)
  }

  #flushOutbox(): void {
    if (this.#transport !== null) this.#commands.flush(this.#transport)
  }

  // --- connection ---------------------------------------------------------------------------

  #setState(state: ConnectionState, code: number, reason: string): void {
    const previous = this.#state
    if (previous === state) return
    this.#state = state
    this.emit('state', { state, previous, code, reason, transport: this.#transport?.name ?? null })
  }

  #open(): void {
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer)
    this.#reconnectTimer = undefined
    this.#serverDisconnect = null
    const mode = this.#o.transport
    const WS = this.#webSocketConstructor()
    if (mode === 'sse' || (mode === 'auto' && this.#sseSticky)) {
      this.#openSse()
    } else if (WS === undefined) {
      if (mode === 'auto') {
        this.#fallingBack = true
        this.emit('fallback', { reason: 'websocket-unavailable', code: 0 })
        this.#openSse()
      } else this.#fail(StateCode.NO_TRANSPORT, 'no WebSocket constructor')
    } else {
      const codec = this.#options.codec ?? jsonCodec
      try {
        this.#transport = new WebSocketTransport(
          WS,
          this.#o.wsUrl,
          codec,
          this.#handler('websocket'),
        )
      } catch (error) {
        // e.g. a URL the constructor refuses: report it like a connection that never opened
        const generation = this.#generation
        queueMicrotask(() => {
          if (generation === this.#generation)
            this.#onClosed('websocket', 1006, String(error), false, false)
        })
      }
    }
  }

  #webSocketConstructor(): WebSocketConstructor | undefined {
    return this.#options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  }

  /** The `connect` command (the token function is asked again each time). */
  #connectCommand = async (): Promise<QueuedCommand & { type: 'connect' }> => {
    const token = await resolveToken(this.#options.token)
    return {
      type: 'connect',
      name: this.#options.name ?? 'switchboard-js',
      ...(token === undefined ? null : { token }),
      ...(this.#options.data === undefined ? null : { data: this.#options.data }),
    }
  }

  /** What the SSE transport needs, or null when this client has no EventSource or fetch. */
  #sseParts(): { ES: EventSourceConstructor; fetchFn: FetchLike } | null {
    const ES =
      this.#options.EventSource ??
      (globalThis as { EventSource?: EventSourceConstructor }).EventSource
    const fetchFn =
      this.#options.fetch ?? (globalThis as { fetch?: FetchLike }).fetch?.bind(globalThis)
    return ES === undefined || fetchFn === undefined ? null : { ES, fetchFn }
  }

  #openSse(): void {
    const parts = this.#sseParts()
    if (parts === null) {
      // Only reached with no WebSocket either (or `transport: 'sse'`): nothing to connect with.
      this.#fail(StateCode.NO_TRANSPORT, 'no EventSource or fetch')
      return
    }
    const { ES, fetchFn } = parts
    const generation = ++this.#generation
    this.#stream = null // the next stream is a new session, named by its own connected push
    const channels: StreamChannel[] = []
    for (const sub of this.#subs.values()) {
      if (sub.state === 'unsubscribed') continue
      const since = sub._since()
      sub._sentSince = since
      channels.push({ channel: sub.channel, since })
    }
    this.#streamChannels = channels.map((c) => c.channel)
    resolveToken(this.#options.token)
      .then(async (token) => {
        const own = this.#options.streamTicket
        let ticket: string | undefined
        const names = channels.map((c) => c.channel)
        if (own !== undefined) ticket = await own(names)
        else if (token !== undefined && channels.length > 0) {
          ticket = await fetchTicket(fetchFn as FetchLike, this.#o.ticketUrl, token, names)
        }
        return [token, ticket] as const
      })
      .then(
        ([token, ticket]) => {
          if (generation !== this.#generation || this.#state === 'disconnected') return
          this.#transport = new SseTransport(
            {
              EventSource: ES,
              fetch: fetchFn as FetchLike,
              streamUrl: this.#o.sseUrl,
              postUrl: this.#o.postUrl,
              channels,
              ticket,
              token,
              withCredentials: this.#options.withCredentials === true,
              probeTimeout: this.#o.timeout,
            },
            this.#handler('sse'),
          )
        },
        (error: unknown) => {
          if (generation !== this.#generation) return
          this.#transport = null
          const refusal = error instanceof TicketRefused ? error.refusal : undefined
          const reason = `stream ticket failed: ${String((error as Error)?.message ?? error)}`
          this.#onClosed('sse', 1006, reason, false, false, refusal)
        },
      )
  }

  /** A handler bound to the transport being created; events of older transports are ignored. */
  #handler(name: TransportName): TransportHandler {
    const generation = ++this.#generation
    const current = (): boolean => generation === this.#generation
    return {
      onOpen: () => {
        if (current()) this.#onOpen()
      },
      // Replies are matched by id whatever transport carried them (an SSE POST may answer after
      // its stream was reopened); pushes of a replaced transport are dropped.
      onMessage: (message) => this.#onMessage(message, current()),
      onClose: (code, reason, opened, received, refusal) => {
        if (!current()) return
        this.#transport = null
        this.#onClosed(name, code, reason, opened, received, refusal)
      },
    }
  }

  #onOpen(): void {
    const transport = this.#transport
    if (transport === null) return
    if (transport.name === 'sse') {
      if (this.#fallingBack) this.#sseSticky = true
      this.#fallingBack = false
      this.#authRetried = false
      if (this.#state !== 'connected') this.#onConnected(null)
      else this.#flushOutbox() // a reopened stream (channel list changed)
      // Subscribed or unsubscribed while this stream was opening: its list is stale, reopen.
      if (this.#streamStale()) this.#queueSseReopen()
      return
    }
    const generation = this.#generation
    this.#connectCommand().then((command) => {
      if (generation !== this.#generation || this.#transport !== transport) return
      this.#request(command, this.#o.timeout, true).then(
        (result) => {
          if (generation === this.#generation) this.#onConnected(result as ConnectResult)
        },
        (error: ClientError) => {
          if (generation !== this.#generation || this.#transport !== transport) return
          if (error.code === ClientErrorCode.DISCONNECTED) return
          // The server follows a refused connect with a disconnect: 3002 for an expired token
          // (reconnect; a token function is asked again), 3500 for a refused one (stop).
          const permanent =
            !error.temporary &&
            error.code !== ClientErrorCode.TIMEOUT &&
            error.code !== 'SWB_ERR_AUTH_TOKEN_EXPIRED'
          this.#closeTransport(1000, error.message)
          if (permanent) this.#fail(3500, `${error.code}: ${error.message}`)
          else this.#onClosed('websocket', StateCode.CONNECT_FAILED, error.message, true, true)
        },
      )
    }, ignore)
  }

  #onConnected(result: ConnectResult | null): void {
    this.#authRetried = false
    this.#backoff.reset()
    // Over SSE the ttl comes from the stream's `connected` push, which may precede `onopen`.
    this.#scheduleRefresh(result === null ? this.#stream?.ttl : result.ttl)
    this.#setState('connected', StateCode.CONNECTED, 'connected')
    this.emit('connected', result)
    const transport = this.#transport
    if (transport?.name === 'websocket') {
      this.#wsWorked = true
      this.#wsFailures = 0
      this.#liveness.start()
      this.#probe?.reset() // WebSocket works: a later fallback probes from the first delay
    } else if (this.#sseSticky && this.#o.transport === 'auto') this.#startProbe()
    if (result?.subs !== undefined) {
      for (const [channel, r] of Object.entries(result.subs)) this.#onServerSubscribe(channel, r)
    }
    if (transport?.name === 'websocket') {
      for (const sub of this.#subs.values())
        if (sub.state === 'subscribing') this.#sendSubscribe(sub)
    }
    this.#flushOutbox()
  }

  #onServerSubscribe(channel: string, result: SubscribeResult): void {
    const sub = this.#subs.get(channel)
    if (sub !== undefined) sub._onSubscribed(result)
    else {
      this.#serverEpochs.set(channel, result.epoch)
      this.emit('subscribed', channel, result)
    }
  }

  /** A publication of a server-side subscription, with the epoch it belongs to. */
  #onServerPublication(push: PublicationPush): void {
    let epoch = push.epoch
    if (epoch === undefined) epoch = this.#serverEpochs.get(push.channel) ?? ''
    else this.#serverEpochs.set(push.channel, epoch)
    this.emit('publication', { ...push, epoch })
  }

  #onMessage(message: ServerMessage, current: boolean): void {
    if ('id' in message && typeof message.id === 'number' && !('type' in message)) {
      this.#onReply(message as Reply)
      return
    }
    if (!current) return
    this.#liveness.seen()
    const push = message as ServerPush
    switch (push.type) {
      case 'publication': {
        const sub = this.#subs.get(push.channel)
        if (sub !== undefined) sub._onPublication(push)
        else this.#onServerPublication(push)
        break
      }
      case 'join':
        this.#subs.get(push.channel)?._onJoin(push.info)
        break
      case 'leave':
        this.#subs.get(push.channel)?._onLeave(push.info)
        break
      case 'gap': {
        const sub = this.#subs.get(push.channel)
        if (sub !== undefined) sub._onGap(push)
        else if (this.#serverEpochs.has(push.channel)) {
          this.#serverEpochs.set(push.channel, push.epoch)
        }
        break
      }
      case 'subscribe':
        this.#onServerSubscribe(push.channel, push)
        break
      case 'unsubscribe': {
        this.#serverEpochs.delete(push.channel)
        const sub = this.#subs.get(push.channel)
        if (sub === undefined) break
        const again = shouldReconnect(push.code)
        sub._onServerUnsubscribe(push, again)
        if (again)
          setTimeout(
            () => sub.state === 'subscribing' && this._activate(sub),
            this.#backoff.ceiling(0),
          )
        break
      }
      case 'message':
        this.emit('message', push.data)
        break
      case 'connected':
        // An SSE stream's session: refresh its credential over POST, like a WebSocket would.
        this.#stream = { client: push.client, ttl: push.ttl }
        if (this.#state === 'connected') this.#scheduleRefresh(push.ttl)
        break
      case 'disconnect': {
        this.#serverDisconnect = push
        const name = this.#transport?.name ?? 'websocket'
        this.#closeTransport(1000, 'disconnect received')
        this.#onClosed(name, push.code, push.reason, true, true)
        break
      }
    }
  }

  #onReply(reply: Reply): void {
    if (this.#commands.onReply(reply)) this.#liveness.seen()
  }

  /** Drops the current transport without reporting (the client decided). */
  #closeTransport(code: number, reason: string): void {
    const t = this.#transport
    this.#transport = null
    this.#generation++
    t?.close(code, reason)
  }

  /** Settles what depended on the lost connection: in-flight publish/presence/history go back to
   * the outbox (publish keeps its idempotency key), in-flight rpc and internal commands fail.
   * Returns true when the close refused a command (see `Commands.connectionLost`). */
  #afterClose(code: number, reason: string): boolean {
    this.#probe?.stop()
    this.#liveness.stop()
    if (this.#refreshTimer !== undefined) clearTimeout(this.#refreshTimer)
    this.#refreshTimer = undefined
    const refused = this.#commands.connectionLost(code, reason)
    for (const sub of this.#subs.values()) sub._onTransportLost(code, reason)
    return refused
  }

  #onClosed(
    name: TransportName,
    code: number,
    reason: string,
    opened: boolean,
    received: boolean,
    refusal?: StreamRefusal,
  ): void {
    if (this.#state === 'disconnected') return
    if (refusal !== undefined && this.#onRefused(refusal)) return
    const server = this.#serverDisconnect
    this.#serverDisconnect = null
    // A close that refused a command (1009, 3501, 3503) is about that command, which is now
    // rejected and never resent: the connection itself reconnects as usual, with backoff.
    const refused = this.#afterClose(code, reason)
    // A WebSocket that never opened, or that a proxy cut before the first message, is the
    // symptom SSE exists for; try it at once (same attempt, no backoff). Once WebSocket has worked
    // for this client, one such failure is most likely the server restarting (it refuses
    // connections for a moment), so the fallback waits for a second failure in a row: otherwise
    // a server that comes back between the two attempts would pin the client to SSE.
    const wsFailed =
      name === 'websocket' &&
      server === null &&
      !isDisconnectCode(code) &&
      code !== StateCode.CONNECT_FAILED &&
      !received
    if (wsFailed) this.#wsFailures++
    // Without EventSource (Node given only a WebSocket constructor) there is nothing to fall back
    // to: the failed WebSocket is retried with backoff like any lost connection.
    const fallback =
      wsFailed &&
      this.#o.transport === 'auto' &&
      (!this.#wsWorked || this.#wsFailures >= 2) &&
      this.#sseParts() !== null
    if (fallback) {
      this.#fallingBack = true
      this.emit('fallback', { reason: opened ? 'websocket-cut' : 'websocket-failed', code })
      this.#setState('connecting', code, reason)
      this.#openSse()
      return
    }
    if (name === 'sse' && this.#fallingBack) {
      // SSE failed too: the server is probably down, not the WebSocket path; next time, WebSocket.
      this.#fallingBack = false
    }
    if (!refused && !shouldReconnect(code, server?.reconnect)) {
      this.#stop(code, reason)
      return
    }
    this.#setState('connecting', code, reason)
    const advertised = (server as { delay?: unknown } | null)?.delay
    const delay = this.#backoff.next(typeof advertised === 'number' ? advertised : 0)
    this.#reconnectTimer = setTimeout(this.#reconnect, delay)
    this.emit('reconnecting', { delay, attempt: this.#backoff.attempt, code, reason })
  }

  /**
   * An SSE stream (or its ticket) refused before it opened, with the server's coded answer; returns
   * false when the status calls for the usual reconnect with backoff. The refused list is never
   * retried unchanged: 401 asks a token function once more, then stops like a refused WebSocket
   * connect (3500); 400/403/404 fail the subscriptions at fault (the one the server names, else
   * all of the stream's) like a refused subscribe command, and the stream reopens without them.
   */
  #onRefused(refusal: StreamRefusal): boolean {
    const kind = refusalKind(refusal.status)
    if (kind === null) return false
    const reason = `${refusal.code}: ${refusal.message}`
    if (kind === 'auth') {
      const renewable =
        typeof this.#options.token === 'function' || this.#options.streamTicket !== undefined
      if (!renewable || this.#authRetried) {
        this.#fail(3500, reason)
        return true
      }
      this.#authRetried = true
    } else {
      const failed: Subscription<unknown, unknown>[] = []
      for (const channel of refusedChannels(refusal)) {
        const sub = this.#subs.get(channel)
        if (sub === undefined || sub.state === 'unsubscribed') continue
        failed.push(sub)
        sub._onError(new ClientError(refusal.code, refusal.message))
      }
      if (this.#state === 'disconnected') return true // an error listener called disconnect()
      // An error listener subscribed again: the same list would be refused again, so it waits
      // for the usual backoff instead of looping at once.
      if (failed.some((sub) => sub.state !== 'unsubscribed')) return false
    }
    // At once, not after a backoff: the next stream differs (fewer channels, or a fresh token),
    // and each refusal removes a channel or spends the one token retry, so this is bounded.
    this.#openSse()
    return true
  }

  /**
   * Sends `refresh` with a new token before the credential expires (at 80% of `ttl`), when the
   * token is a function. Over SSE it is POSTed with the stream's session id (`client`, from the
   * `connected` push), and later POSTs carry the new token. If it fails, the server disconnects
   * with 3002 at expiry and the client reconnects with a fresh token anyway.
   */
  #scheduleRefresh(ttl: number | undefined): void {
    if (this.#refreshTimer !== undefined) clearTimeout(this.#refreshTimer)
    this.#refreshTimer = undefined
    if (typeof ttl !== 'number' || !(ttl > 0) || typeof this.#options.token !== 'function') return
    const delay = Math.min(0x7fffffff, Math.max(50, ttl * 800))
    this.#refreshTimer = setTimeout(this.#refresh, delay)
  }

  #refresh = (): void => {
    this.#refreshTimer = undefined
    const generation = this.#generation
    resolveToken(this.#options.token)
      .then((token) => {
        if (token === undefined || generation !== this.#generation) return
        const transport = this.#transport
        let command: QueuedCommand = { type: 'refresh', token }
        if (transport instanceof SseTransport) {
          // No session yet (a stream being reopened): its `connected` push schedules again.
          if (this.#stream === null) return
          command = { type: 'refresh', token, client: this.#stream.client }
        }
        return this.#request(command, this.#o.timeout).then((r) => {
          if (generation !== this.#generation) return
          if (transport instanceof SseTransport) transport.useToken(token)
          this.#scheduleRefresh((r as RefreshResult).ttl)
        })
      })
      .catch((error: unknown) => {
        if (error instanceof ClientError && error.code !== ClientErrorCode.DISCONNECTED) {
          this.emit('error', error)
        }
      })
  }

  #reconnect = (): void => {
    // Also called early (page became visible): the pending timer must not fire later.
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer)
    this.#reconnectTimer = undefined
    if (this.#state === 'connecting') this.#open()
  }

  /** Stops for good (a do-not-reconnect code, or nothing to connect with). */
  #fail(code: number, reason: string): void {
    this.#closeTransport(1000, reason)
    this.#afterClose(code, reason)
    this.#stop(code, reason)
  }

  #stop(code: number, reason: string): void {
    this.#unwatchVisibility?.()
    this.#unwatchVisibility = null
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer)
    this.#reconnectTimer = undefined
    const closed = new ClientError(ClientErrorCode.CLOSED, `client stopped (${code}: ${reason})`)
    this.#commands.rejectQueued(closed)
    this.#setState('disconnected', code, reason)
    this.emit(
      'error',
      new ClientError(ClientErrorCode.CLOSED, `disconnected by the server (${code}: ${reason})`),
    )
  }

  #onDead = (): void => {
    if (this.#state !== 'connected' || this.#transport === null) return
    const name = this.#transport.name
    this.#closeTransport(3004, 'no pong')
    this.#onClosed(name, StateCode.NO_PONG, 'ping not answered', true, true)
  }

  #onVisibility = (hidden: boolean): void => {
    if (hidden) return
    if (this.#state === 'connecting' && this.#reconnectTimer !== undefined) {
      // The reconnect timer may have been throttled while hidden: try now.
      this.#reconnect()
    }
  }

  /** Starts probing WebSocket in the background (connected over the SSE fallback). */
  #startProbe(): void {
    if (this.#probe === null) {
      const WS = this.#webSocketConstructor()
      if (WS === undefined) return // 'websocket-unavailable': nothing to probe with
      this.#probe = new UpgradeProbe(
        { connectCommand: this.#connectCommand, probed: this.#onProbed },
        {
          WebSocket: WS,
          url: this.#o.wsUrl,
          codec: this.#options.codec ?? jsonCodec,
          delay: this.#o.upgradeProbeDelay,
          maxDelay: this.#o.maxUpgradeProbeDelay,
          timeout: this.#o.timeout,
          random: this.#options.random ?? Math.random,
        },
      )
    }
    this.#probe.start()
  }

  #onProbed = (event: ProbeEvent): void => {
    const onSse = this.#state === 'connected' && this.#transport?.name !== 'websocket'
    if (!onSse) this.#probe?.stop() // cannot happen while the client stops it on every close
    this.emit('probe', event)
    if (event.ok && onSse) this.#upgrade(event.attempt)
  }

  /**
   * Leaves the SSE fallback for WebSocket after a good probe: the stream is closed and the client
   * reconnects over WebSocket at once; subscriptions resubscribe with `since` and recover what was
   * published meanwhile. Commands POSTed before the switch keep waiting for their HTTP replies
   * (the old transport still delivers them), so nothing in flight is failed or sent twice.
   */
  #upgrade(probes: number): void {
    this.#sseSticky = false
    this.#fallingBack = false
    this.#probe?.stop()
    this.#closeTransport(1000, 'upgrading to websocket')
    const reason = 'upgrading to websocket'
    for (const sub of this.#subs.values()) sub._onTransportLost(StateCode.UPGRADE, reason)
    this.emit('upgrade', { reason: 'websocket-probe-ok', probes })
    this.#setState('connecting', StateCode.UPGRADE, reason)
    this.#open()
  }

  /** Whether the SSE stream's channel list differs from the active subscriptions. */
  #streamStale(): boolean {
    const wanted = [...this.#subs.values()].filter((sub) => sub.state !== 'unsubscribed')
    const have = new Set(this.#streamChannels)
    return wanted.length !== have.size || wanted.some((sub) => !have.has(sub.channel))
  }

  #queueSseReopen(): void {
    if (this.#sseReopenQueued) return
    this.#sseReopenQueued = true
    queueMicrotask(() => {
      this.#sseReopenQueued = false
      if (this.#state !== 'connected' || this.#transport?.name === 'websocket') return
      // Reopen the stream with the new channel list; pending POSTs still get their replies.
      const old = this.#transport
      this.#transport = null
      old?.close(1000, 'channels changed')
      this.#openSse()
    })
  }
}

function ignore(): void {}
