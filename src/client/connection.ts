import { jsonCodec } from '../protocol/json.ts'
import type {
  ConnectResult,
  DisconnectPush,
  Reply,
  ServerMessage,
  ServerPush,
} from '../protocol/messages.ts'
import { type Backoff, shouldReconnect } from './backoff.ts'
import { type ClientEvents, type ConnectionState, StateCode } from './client-events.ts'
import type { Commands } from './commands.ts'
import { CredentialRefresh } from './credential-refresh.ts'
import { ClientError, ClientErrorCode } from './errors.ts'
import {
  type ClientOptions,
  connectCommand,
  type ResolvedOptions,
  sseParts,
  webSocketConstructor,
} from './options.ts'
import type { QueuedCommand } from './outbox.ts'
import { SseSession } from './sse-session.ts'
import { type StreamRefusal, TicketRefused } from './stream-refusal.ts'
import type { Subscription } from './subscription.ts'
import type { ClientTransport, TransportHandler, TransportName } from './transport.ts'
import { TransportFallback } from './transport-fallback.ts'
import { SseTransport } from './transport-sse.ts'
import { WebSocketTransport } from './transport-ws.ts'
import type { ProbeEvent } from './upgrade-probe.ts'
import { documentVisibility, Liveness, type VisibilitySource } from './visibility.ts'

/** A push for the client's channels: every push but the connection's own `connected` and
 * `disconnect`, which the {@link Connection} handles. */
export type ChannelPush = Exclude<ServerPush, { type: 'connected' | 'disconnect' }>

/** What the {@link Connection} needs from its client. */
export interface ConnectionHost {
  /** The client's subscriptions by channel: the connection reads them, never adds or removes. */
  readonly subs: ReadonlyMap<string, Subscription<unknown, unknown>>
  /** Emits one of the client's events. */
  emit<K extends keyof ClientEvents>(event: K, ...args: ClientEvents[K]): void
  /** A push of the current transport (pushes of a replaced transport are dropped). */
  push(push: ChannelPush): void
  /** Connected, before the outbox is flushed: `result` is the `connect` reply (`null` over SSE),
   * `websocket` whether the connection is a WebSocket (its subscriptions are sent as commands). */
  connected(result: ConnectResult | null, websocket: boolean): void
}

/**
 * The client's connection lifecycle, inside {@link SwitchboardClient}: opens WebSocket (or SSE,
 * the fallback), sends `connect`, reconnects with backoff, falls back to SSE when WebSocket
 * cannot work and moves back when an upgrade probe says it does, reopens the SSE stream when its
 * channel list changes or the server refuses it, refreshes the credential, watches liveness, and
 * stops for good on a do-not-reconnect code. It owns the connection state and the transport.
 *
 * Every transport it creates gets a generation; events of a transport that was replaced (and
 * answers to work started under it) are discarded by comparing generations.
 *
 * @example
 * const connection = new Connection(host, options, resolveOptions(options), backoff, commands)
 * connection.connect()
 */
export class Connection {
  readonly #host: ConnectionHost
  readonly #options: ClientOptions
  readonly #o: ResolvedOptions
  readonly #backoff: Backoff
  readonly #commands: Commands
  readonly #liveness: Liveness
  readonly #visibility: VisibilitySource | null
  readonly #refresh: CredentialRefresh
  readonly #fallback: TransportFallback
  readonly #sse: SseSession
  #state: ConnectionState = 'disconnected'
  #transport: ClientTransport | null = null
  #generation = 0
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined
  #serverDisconnect: DisconnectPush | null = null
  #sseReopenQueued = false
  #unwatchVisibility: (() => void) | null = null

  constructor(
    host: ConnectionHost,
    options: ClientOptions,
    resolved: ResolvedOptions,
    backoff: Backoff,
    commands: Commands,
  ) {
    this.#host = host
    this.#options = options
    this.#o = resolved
    this.#backoff = backoff
    this.#commands = commands
    this.#visibility = options.visibility === undefined ? documentVisibility() : options.visibility
    this.#liveness = new Liveness(
      { ping: (timeout) => this.request({ type: 'ping' }, timeout), dead: this.#onDead },
      {
        interval: this.#o.pingInterval,
        timeout: this.#o.pongTimeout,
        visibility: this.#visibility,
      },
    )
    this.#refresh = new CredentialRefresh(
      {
        generation: () => this.#generation,
        transport: () => this.#transport,
        session: () => this.#sse.session,
        request: (command, timeout) => this.request(command, timeout),
        error: (error) => this.#host.emit('error', error),
      },
      { token: options.token, timeout: this.#o.timeout },
    )
    this.#fallback = new TransportFallback(
      { connectCommand: this.#connectCommand, probed: this.#onProbed },
      options,
      resolved,
    )
    this.#sse = new SseSession(host.subs, options, resolved)
  }

  /** Current connection state. */
  get state(): ConnectionState {
    return this.#state
  }

  /** The transport in use (or being opened), or `null`. */
  get transport(): ClientTransport | null {
    return this.#transport
  }

  /** Changes whenever the transport is replaced: work started under an older one is dropped. */
  get generation(): number {
    return this.#generation
  }

  /** The transport to send on now: the current one while connected, else `null`. */
  live(): ClientTransport | null {
    return this.#state === 'connected' ? this.#transport : null
  }

  /** Sends a command on the live transport now (no outbox); rejects when not connected.
   * `force`: also while connecting (the `connect` command itself). */
  request(command: QueuedCommand, timeout: number, force = false): Promise<unknown> {
    const live = force || this.#state === 'connected' ? this.#transport : null
    return this.#commands.request(live, command, timeout)
  }

  /** Starts connecting (no-op unless `disconnected`). */
  connect(): void {
    if (this.#state !== 'disconnected') return
    this.#sse.authRetried = false
    this.#setState('connecting', StateCode.CONNECT_CALLED, 'connect called')
    this.#unwatchVisibility ??= this.#visibility?.subscribe(this.#onVisibility) ?? null
    this.#open()
  }

  /** Closes the connection and stops reconnecting. */
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

  #flushOutbox(): void {
    if (this.#transport !== null) this.#commands.flush(this.#transport)
  }

  #setState(state: ConnectionState, code: number, reason: string): void {
    const previous = this.#state
    if (previous === state) return
    this.#state = state
    const transport = this.#transport?.name ?? null
    this.#host.emit('state', { state, previous, code, reason, transport })
  }

  #open(): void {
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer)
    this.#reconnectTimer = undefined
    this.#serverDisconnect = null
    const mode = this.#o.transport
    const WS = webSocketConstructor(this.#options)
    if (this.#fallback.useSse()) {
      this.#openSse()
    } else if (WS === undefined) {
      if (mode === 'auto') {
        this.#fallback.unavailable()
        this.#host.emit('fallback', { reason: 'websocket-unavailable', code: 0 })
        if (this.#stopped()) return // a listener called disconnect()
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

  /** The `connect` command (the token function is asked again each time). */
  #connectCommand = (): Promise<QueuedCommand & { type: 'connect' }> =>
    connectCommand(this.#options)

  #openSse(): void {
    const parts = sseParts(this.#options)
    if (parts === null) {
      // Only reached with no WebSocket either (or `transport: 'sse'`): nothing to connect with.
      this.#fail(StateCode.NO_TRANSPORT, 'no EventSource or fetch')
      return
    }
    const generation = ++this.#generation
    this.#sse.next(parts).then(
      (options) => {
        if (generation !== this.#generation || this.#state === 'disconnected') return
        this.#transport = new SseTransport(options, this.#handler('sse'))
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
      this.#fallback.sseOpened()
      this.#sse.authRetried = false
      if (this.#state !== 'connected') this.#onConnected(null)
      else this.#flushOutbox() // a reopened stream (channel list changed)
      // Subscribed or unsubscribed while this stream was opening: its list is stale, reopen.
      if (this.#sse.stale()) this.queueSseReopen()
      return
    }
    const generation = this.#generation
    this.#connectCommand().then((command) => {
      if (generation !== this.#generation || this.#transport !== transport) return
      this.request(command, this.#o.timeout, true).then(
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
    this.#sse.authRetried = false
    this.#backoff.reset()
    // Over SSE the ttl comes from the stream's `connected` push, which may precede `onopen`.
    this.#refresh.schedule(result === null ? this.#sse.session?.ttl : result.ttl)
    this.#setState('connected', StateCode.CONNECTED, 'connected')
    this.#host.emit('connected', result)
    const websocket = this.#transport?.name === 'websocket'
    if (websocket) this.#liveness.start()
    this.#fallback.connected(websocket)
    this.#host.connected(result, websocket)
    this.#flushOutbox()
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
      case 'connected':
        // An SSE stream's session: refresh its credential over POST, like a WebSocket would.
        this.#sse.session = { client: push.client, ttl: push.ttl }
        if (this.#state === 'connected') this.#refresh.schedule(push.ttl)
        break
      case 'disconnect': {
        this.#serverDisconnect = push
        const name = this.#transport?.name ?? 'websocket'
        this.#closeTransport(1000, 'disconnect received')
        this.#onClosed(name, push.code, push.reason, true, true)
        break
      }
      default:
        this.#host.push(push)
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
    this.#fallback.stopProbe()
    this.#liveness.stop()
    this.#refresh.cancel()
    const refused = this.#commands.connectionLost(code, reason)
    for (const sub of this.#host.subs.values()) sub._onTransportLost(code, reason)
    return refused
  }

  /** Whether the client is disconnected: read after an event, whose listener may have called
   * `disconnect()` (a plain comparison would be narrowed away by the checks before the event). */
  #stopped(): boolean {
    return this.#state === 'disconnected'
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
    if (this.#fallback.closed(name, code, server, received)) {
      this.#host.emit('fallback', { reason: opened ? 'websocket-cut' : 'websocket-failed', code })
      if (this.#stopped()) return // a listener called disconnect()
      this.#setState('connecting', code, reason)
      this.#openSse()
      return
    }
    if (!refused && !shouldReconnect(code, server?.reconnect)) {
      this.#stop(code, reason)
      return
    }
    this.#setState('connecting', code, reason)
    const advertised = (server as { delay?: unknown } | null)?.delay
    const delay = this.#backoff.next(typeof advertised === 'number' ? advertised : 0)
    this.#reconnectTimer = setTimeout(this.#reconnect, delay)
    this.#host.emit('reconnecting', { delay, attempt: this.#backoff.attempt, code, reason })
  }

  /** An SSE stream (or its ticket) refused before it opened: false when the usual reconnect with
   * backoff follows (see `SseSession.refused`). */
  #onRefused(refusal: StreamRefusal): boolean {
    const action = this.#sse.refused(refusal, () => this.#state === 'disconnected')
    if (action === 'stop') this.#fail(3500, `${refusal.code}: ${refusal.message}`)
    else if (action === 'reopen') this.#openSse()
    return action !== 'reconnect'
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
    this.#host.emit(
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

  #onProbed = (event: ProbeEvent): void => {
    const onSse = this.#state === 'connected' && this.#transport?.name !== 'websocket'
    if (!onSse) this.#fallback.stopProbe() // cannot happen while the client stops it on every close
    this.#host.emit('probe', event)
    if (event.ok && onSse) this.#upgrade(event.attempt)
  }

  /**
   * Leaves the SSE fallback for WebSocket after a good probe: the stream is closed and the client
   * reconnects over WebSocket at once; subscriptions resubscribe with `since` and recover what was
   * published meanwhile. Commands POSTed before the switch keep waiting for their HTTP replies
   * (the old transport still delivers them), so nothing in flight is failed or sent twice.
   */
  #upgrade(probes: number): void {
    this.#fallback.upgraded()
    this.#closeTransport(1000, 'upgrading to websocket')
    const reason = 'upgrading to websocket'
    for (const sub of this.#host.subs.values()) sub._onTransportLost(StateCode.UPGRADE, reason)
    this.#host.emit('upgrade', { reason: 'websocket-probe-ok', probes })
    if (this.#stopped()) return // a listener called disconnect()
    this.#setState('connecting', StateCode.UPGRADE, reason)
    this.#open()
  }

  /** Reopens the SSE stream with the current channel list, once per microtask however many
   * subscriptions changed (a subscription added or removed while on SSE). */
  queueSseReopen(): void {
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
