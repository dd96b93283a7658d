/**
 * Wire protocol v1: the messages a client and a Switchboard server exchange over a WebSocket
 * (JSON text frames or MessagePack binary frames) or over SSE + HTTP POST. `docs/protocol.md`
 * describes every field; this file is the single typed source of that description and is shared
 * by the server hub and the client SDK, so it imports nothing and uses no `node:` module.
 *
 * Three kinds of message travel:
 * - a **command** from the client carries a numeric `id` and a `type`;
 * - a **reply** from the server carries the same `id` and either `result` or `error`;
 * - a **push** from the server carries a `type` and no `id`.
 *
 * @example
 * const cmd: ClientCommand = { id: 1, type: 'subscribe', channel: 'chat:lobby' }
 */

/** Version of the wire protocol this file describes. */
export const PROTOCOL_VERSION = 1

/** A position in a channel's stream: offsets grow by one per publication; the epoch names the stream. */
export interface StreamPosition {
  /** Offset of the last publication seen (0 = none yet). */
  readonly offset: number
  /** Identity of the stream; when it changes, earlier offsets mean nothing any more. */
  readonly epoch: string
}

/** Who a publication, join or leave came from. */
export interface ClientInfo {
  /** Authenticated user id ('' for anonymous). */
  readonly user: string
  /** Connection (session) id. */
  readonly client: string
  /** Application data attached at connect time (from the token or the connect hook). */
  readonly info?: unknown
}

/** One publication of a channel, as stored in history and pushed to subscribers. */
export interface Publication {
  readonly offset: number
  readonly data: unknown
  /** Publisher, when the publication came from a client. */
  readonly info?: ClientInfo
  /** Conflation key: a slow subscriber under the `conflate` policy keeps only the latest per key. */
  readonly key?: string
  /** Milliseconds since the Unix epoch when the broker stored it (sent to clients only when the
   * namespace has `timestamps`). */
  readonly time?: number
}

// ---------------------------------------------------------------------------------------------
// Commands (client -> server)

/** Fields shared by every command. */
interface CommandBase {
  /** Client-chosen positive integer; the reply carries it back. */
  readonly id: number
}

export interface ConnectCommand extends CommandBase {
  readonly type: 'connect'
  /** Credential checked by the server's connect hook (a JWT by default). */
  readonly token?: string
  /** Free data for a custom connect hook. */
  readonly data?: unknown
  /** Client name and version, for logs. */
  readonly name?: string
}

export interface SubscribeCommand extends CommandBase {
  readonly type: 'subscribe'
  readonly channel: string
  /** Resume point: the server returns every publication after it, or `recovered: false`. */
  readonly since?: StreamPosition
}

export interface UnsubscribeCommand extends CommandBase {
  readonly type: 'unsubscribe'
  readonly channel: string
}

export interface PublishCommand extends CommandBase {
  readonly type: 'publish'
  readonly channel: string
  readonly data: unknown
  /** Idempotency key: a retried publish with the same key is applied once. */
  readonly idempotencyKey?: string
  /** Conflation key (see {@link Publication.key}). */
  readonly key?: string
}

export interface RpcCommand extends CommandBase {
  readonly type: 'rpc'
  readonly method: string
  readonly data?: unknown
}

export interface PresenceCommand extends CommandBase {
  readonly type: 'presence'
  readonly channel: string
}

export interface HistoryCommand extends CommandBase {
  readonly type: 'history'
  readonly channel: string
  /** Return publications after this position (default: the oldest kept). */
  readonly since?: StreamPosition
  /** At most this many publications (server caps it). */
  readonly limit?: number
}

export interface PingCommand extends CommandBase {
  readonly type: 'ping'
}

export interface RefreshCommand extends CommandBase {
  readonly type: 'refresh'
  readonly token: string
  /**
   * Over HTTP POST only (required there): the id of the SSE session to extend, as given by its
   * `connected` push. A WebSocket `refresh` extends its own connection and leaves it out.
   */
  readonly client?: string
}

/** Every command a client may send. */
export type ClientCommand =
  | ConnectCommand
  | SubscribeCommand
  | UnsubscribeCommand
  | PublishCommand
  | RpcCommand
  | PresenceCommand
  | HistoryCommand
  | PingCommand
  | RefreshCommand

/** The `type` of a command. */
export type CommandType = ClientCommand['type']

// ---------------------------------------------------------------------------------------------
// Replies (server -> client, answering a command)

export interface ConnectResult {
  /** This connection's id. */
  readonly client: string
  readonly user: string
  readonly version: typeof PROTOCOL_VERSION
  /** Seconds until the credential expires; the client should send `refresh` before. */
  readonly ttl?: number
  /** Channels the server subscribed this session to at connect time (server-side subscriptions). */
  readonly subs?: Readonly<Record<string, SubscribeResult>>
}

export interface SubscribeResult {
  /** Current top of the stream (after the recovered publications, if any). */
  readonly offset: number
  readonly epoch: string
  /** Whether the channel keeps history (so `since` can work later). */
  readonly recoverable: boolean
  /** Present when `since` was given: true only if every missed publication follows. */
  readonly recovered?: boolean
  /** Missed publications, oldest first (present when `recovered` is true and some were missed). */
  readonly publications?: readonly Publication[]
}

export interface PublishResult {
  readonly offset: number
  readonly epoch: string
  /** True when an earlier publish with the same idempotency key was already applied. */
  readonly duplicate?: boolean
}

export interface RpcResult {
  readonly data: unknown
}

/** A presence answer: members, unless the channel is above its member threshold (count only). */
export interface PresenceResult {
  readonly count: number
  readonly members?: readonly ClientInfo[]
}

export interface HistoryResult {
  readonly offset: number
  readonly epoch: string
  readonly publications: readonly Publication[]
}

export interface RefreshResult {
  readonly ttl?: number
}

/** A coded error answering one command; the connection stays open. */
export interface ReplyError {
  /** Stable `SWB_ERR_*` (or application) code. */
  readonly code: string
  readonly message: string
  /** True when retrying the same command later may succeed. */
  readonly temporary?: boolean
}

/** The answer to one command. Exactly one of `result` and `error` is present. */
export interface Reply<R = unknown> {
  readonly id: number
  readonly result?: R
  readonly error?: ReplyError
}

// ---------------------------------------------------------------------------------------------
// Pushes (server -> client, unsolicited)

export interface PublicationPush extends Publication {
  readonly type: 'publication'
  readonly channel: string
  /** Present on the first publication a server node fans out for the channel since it gained a
   * local subscriber, and whenever the epoch changes; otherwise the epoch the subscribe answer
   * (or the last gap marker) named. */
  readonly epoch?: string
}

export interface JoinPush {
  readonly type: 'join'
  readonly channel: string
  readonly info: ClientInfo
}

export interface LeavePush {
  readonly type: 'leave'
  readonly channel: string
  readonly info: ClientInfo
}

/**
 * Publications of `channel` with offsets in `[from, to]` were not delivered to this connection
 * (slow-consumer drop, conflation, or a lost cross-node delivery). `count` of them were dropped;
 * under `conflate` other offsets inside the range may still arrive after it. The client recovers
 * the range through `history` or by resubscribing with `since`.
 */
export interface GapPush {
  readonly type: 'gap'
  readonly channel: string
  readonly epoch: string
  readonly from: number
  readonly to: number
  readonly count: number
}

/** The server subscribed this connection to a channel (server-side subscription, SSE streams). */
export interface SubscribePush extends SubscribeResult {
  readonly type: 'subscribe'
  readonly channel: string
}

/** The server ended a subscription. `code` follows the disconnect code ranges. */
export interface UnsubscribePush {
  readonly type: 'unsubscribe'
  readonly channel: string
  readonly code: number
  readonly reason: string
}

/** A message sent to this connection or its user, outside any channel (`hub.sendToUser`). */
export interface MessagePush {
  readonly type: 'message'
  readonly data: unknown
}

/**
 * First push of an SSE stream: who the stream's session is. A WebSocket learns the same from its
 * connect reply; an SSE client needs `client` to refresh its credential over HTTP POST
 * (`{ type: 'refresh', token, client }`) before `ttl` runs out.
 */
export interface ConnectedPush {
  readonly type: 'connected'
  /** This session's id (unique across nodes). */
  readonly client: string
  readonly user: string
  /** Seconds until the credential expires (absent when it does not). */
  readonly ttl?: number
}

/** The server is closing this connection. `reconnect` restates what the code's range says. */
export interface DisconnectPush {
  readonly type: 'disconnect'
  readonly code: number
  readonly reason: string
  readonly reconnect: boolean
  /** Milliseconds the client should wait at least before it reconnects (a draining server
   * spreads its clients' returns; see docs/operations.md). */
  readonly delay?: number
}

/** Every push a server may send. */
export type ServerPush =
  | PublicationPush
  | JoinPush
  | LeavePush
  | GapPush
  | SubscribePush
  | UnsubscribePush
  | MessagePush
  | ConnectedPush
  | DisconnectPush

/** Anything a server sends. */
export type ServerMessage = Reply | ServerPush

/** Anything a client sends. */
export type ClientMessage = ClientCommand
