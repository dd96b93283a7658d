import type {
  ConnectResult,
  HistoryResult,
  PresenceResult,
  PublicationPush,
  PublishResult,
  StreamPosition,
  SubscribeResult,
} from '../protocol/messages.ts'
import { Backoff, shouldReconnect } from './backoff.ts'
import type { ClientEvents, ConnectionState } from './client-events.ts'
import { Commands } from './commands.ts'
import { type ChannelPush, Connection } from './connection.ts'
import { Emitter } from './emitter.ts'
import { type ClientError, ClientErrorCode } from './errors.ts'
import {
  type ClientOptions,
  positiveOption,
  type ResolvedOptions,
  resolveOptions,
} from './options.ts'
import { idempotencyKey, type QueuedCommand } from './outbox.ts'
import { type SubscribeOptions, Subscription } from './subscription.ts'
import type { TransportName } from './transport.ts'
import type {
  ChannelName,
  PublicationData,
  PublishData,
  RpcInput,
  RpcMethod,
  RpcOutput,
  ServerDefinition,
} from './types.ts'

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
  readonly #o: ResolvedOptions
  readonly #backoff: Backoff
  readonly #commands: Commands
  /** The connection lifecycle: state, transport, reconnects, SSE fallback and upgrade. */
  readonly #connection: Connection
  readonly #subs = new Map<string, Subscription<unknown, unknown>>()
  /** The epoch each server-side subscription follows: pushes name it only when it changes. */
  readonly #serverEpochs = new Map<string, string>()

  constructor(options: ClientOptions) {
    super()
    this.#o = resolveOptions(options)
    this.#backoff = new Backoff({
      minDelay: options.minReconnectDelay,
      maxDelay: options.maxReconnectDelay,
      factor: options.reconnectFactor,
      random: options.random,
    })
    const outboxSize = positiveOption(options, 'outboxSize', 1000)
    this.#commands = new Commands(Math.floor(outboxSize), () => this.#connection.live())
    this.#connection = new Connection(
      {
        subs: this.#subs,
        emit: (event, ...args) => this.emit(event, ...args),
        push: (push) => this.#onPush(push),
        connected: (result, websocket) => this.#onConnected(result, websocket),
      },
      options,
      this.#o,
      this.#backoff,
      this.#commands,
    )
  }

  /** Current connection state. */
  get state(): ConnectionState {
    return this.#connection.state
  }

  /** The transport in use, or `null` when disconnected. */
  get transport(): TransportName | null {
    return this.#connection.transport?.name ?? null
  }

  /** Commands waiting for a connection. */
  get outboxSize(): number {
    return this.#commands.outbox.size
  }

  /** Starts connecting (no-op unless `disconnected`). */
  connect(): void {
    this.#connection.connect()
  }

  /** Closes the connection and stops reconnecting. Subscriptions and queued commands are kept
   * and resume on the next `connect()`. */
  disconnect(): void {
    this.#connection.disconnect()
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
    return this.#connection.request({ type: 'ping' }, timeout).then(() => undefined)
  }

  // --- subscriptions (called by Subscription) ---------------------------------------------

  /** @internal */
  _activate(sub: Subscription<unknown, unknown>): void {
    const connection = this.#connection
    if (connection.state !== 'connected') return
    if (connection.transport?.name === 'websocket') this.#sendSubscribe(sub)
    else connection.queueSseReopen() // SSE, or an SSE stream being reopened right now
  }

  /** @internal */
  _deactivate(sub: Subscription<unknown, unknown>): void {
    const connection = this.#connection
    if (connection.state !== 'connected') return
    if (connection.transport?.name === 'websocket') {
      connection
        .request({ type: 'unsubscribe', channel: sub.channel }, this.#o.timeout)
        .catch(ignore)
    } else connection.queueSseReopen()
  }

  #sendSubscribe(sub: Subscription<unknown, unknown>): void {
    const since = sub._since()
    sub._sentSince = since
    const command: QueuedCommand =
      since === undefined
        ? { type: 'subscribe', channel: sub.channel }
        : { type: 'subscribe', channel: sub.channel, since }
    const connection = this.#connection
    const generation = connection.generation
    connection.request(command, this.#o.timeout).then(
      (result) => sub._onSubscribed(result as SubscribeResult),
      (error: ClientError) => {
        if (generation !== connection.generation || sub.state !== 'subscribing') return
        if (error.code === ClientErrorCode.DISCONNECTED) return // resubscribed on reconnect
        sub._onError(error)
      },
    )
  }

  #enqueue(command: QueuedCommand, timeout: number, deadline: boolean): Promise<unknown> {
    return this.#commands.enqueue(this.#connection.live(), command, timeout, deadline)
  }

  // --- pushes -------------------------------------------------------------------------------

  /** Connected: the server-side subscriptions of the `connect` reply, and over WebSocket the
   * subscribe commands of the subscriptions waiting for it (before the outbox is flushed). */
  #onConnected(result: ConnectResult | null, websocket: boolean): void {
    if (result?.subs !== undefined) {
      for (const [channel, r] of Object.entries(result.subs)) this.#onServerSubscribe(channel, r)
    }
    if (websocket) {
      for (const sub of this.#subs.values())
        if (sub.state === 'subscribing') this.#sendSubscribe(sub)
    }
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

  /** A push of the current transport for the channels (the connection handles its own). */
  #onPush(push: ChannelPush): void {
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
    }
  }
}

function ignore(): void {}
