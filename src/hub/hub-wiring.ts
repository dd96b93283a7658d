// How a hub's parts are wired together, once, in its constructor: the timed broker started with
// the hub's handler, the channel registry, the session lifecycle, and the command paths (the
// stateless commands, the session command path, the HTTP command path), all on the same tables.
// Apart from hub.ts so the hub reads as its public API; internal.
import type { Broker } from '../broker/index.ts'
import type { ClientInfo, PresenceResult, PublishResult } from '../protocol/index.ts'
import { type AuthenticateRequest, type Identity, ttlSeconds } from './auth.ts'
import type { CommandEnv, RpcHandler } from './commands.ts'
import { brokerHandler } from './control.ts'
import type { HttpCommandEnv } from './http-command.ts'
import type { HubLimits } from './hub-options.ts'
import type { Limiter } from './limits.ts'
import type { Namespace, Namespaces } from './namespace.ts'
import { type PublishHost, publishToBroker } from './publish.ts'
import { ChannelRegistry } from './registry.ts'
import type { Report } from './report.ts'
import type { RpcDeadlines } from './rpc-deadlines.ts'
import type { Session, SessionLimits } from './session.ts'
import { SessionCommands } from './session-commands.ts'
import { type LifecycleHub, SessionLifecycle } from './session-lifecycle.ts'
import type { SessionTable } from './session-table.ts'
import { type RecorderHost, TimedBroker } from './timed-broker.ts'

/** The hub's parts the command paths are built from. */
export interface CommandParts {
  readonly broker: Broker
  readonly namespaces: Namespaces
  readonly rpc: ReadonlyMap<string, RpcHandler>
  readonly rpcDeadlines: RpcDeadlines
  readonly limits: SessionLimits
  readonly maxHistoryLimit: number
  readonly ready: Promise<void>
  readonly registry: ChannelRegistry
  readonly metrics: RecorderHost
  now(): number
  publish(
    ns: Namespace,
    channel: string,
    data: unknown,
    idempotencyKey: string | undefined,
    key: string | undefined,
    info: ClientInfo | undefined,
  ): Promise<PublishResult>
  presence(channel: string): Promise<PresenceResult>
  authenticate(request: AuthenticateRequest): Promise<Identity>
  register(session: Session): void
  /** Sessions of a user on this node (for the per-user connection limit). */
  userSessions(user: string): number
  readonly limiter: Limiter
  disconnectSession(session: Session, code: number, reason: string): void
  endAfterReplies(session: Session, code: number, reason: string): void
  onError(error: unknown): void
}

/** The command paths of a hub: the stateless commands' environment, the session command path
 * and the HTTP command path, all on the same parts. */
export function commandPaths(parts: CommandParts): {
  env: CommandEnv
  commands: SessionCommands
  http: HttpCommandEnv
} {
  const env: CommandEnv = {
    broker: parts.broker,
    metrics: parts.metrics,
    namespaces: parts.namespaces,
    rpc: parts.rpc,
    rpcDeadlines: parts.rpcDeadlines,
    maxHistoryLimit: parts.maxHistoryLimit,
    publish: parts.publish,
    presence: parts.presence,
  }
  const commands = new SessionCommands({
    limits: parts.limits,
    ready: parts.ready,
    namespaces: parts.namespaces,
    registry: parts.registry,
    env,
    now: parts.now,
    authenticate: parts.authenticate,
    register: parts.register,
    userSessions: parts.userSessions,
    limiter: parts.limiter,
    disconnectSession: parts.disconnectSession,
    endAfterReplies: parts.endAfterReplies,
    onError: parts.onError,
  })
  const http: HttpCommandEnv = {
    broker: parts.broker,
    ready: parts.ready,
    commands,
    authenticate: parts.authenticate,
    ttlOf: (expiresAt) => ttlSeconds(expiresAt, parts.now()),
  }
  return { env, commands, http }
}

/** @internal What the wiring needs of the hub itself: what its parts call back and count through. */
export interface WiredHub extends LifecycleHub {
  presence(channel: string): Promise<PresenceResult>
}

/** @internal The hub's own tables and settings, made before the wiring. */
export interface HubTables {
  /** The broker the hub was given (or its memory broker); wrapped here for timing. */
  readonly broker: Broker
  readonly namespaces: Namespaces
  readonly sessions: SessionTable
  readonly rpc: ReadonlyMap<string, RpcHandler>
  readonly rpcDeadlines: RpcDeadlines
  readonly limits: HubLimits
  readonly now: () => number
  readonly onError: Report
}

/** @internal A hub's wired parts. */
export interface HubParts {
  readonly broker: TimedBroker
  readonly registry: ChannelRegistry
  readonly life: SessionLifecycle
  /** Settles once the broker has started. */
  readonly ready: Promise<void>
  readonly publishing: PublishHost
  readonly commands: SessionCommands
  readonly http: HttpCommandEnv
}

/**
 * @internal Wires a hub's parts over its tables and starts the broker with the hub's handler;
 * `started` is called once the broker has started.
 */
export function wireHub(hub: WiredHub, tables: HubTables, started: () => void): HubParts {
  const { namespaces, sessions, limits, now, onError } = tables
  // The hub's own calls go through a timing wrapper (a forwarder while metrics are off).
  const broker = new TimedBroker(tables.broker, hub)
  const registry = new ChannelRegistry(broker, onError, hub, limits.writeDelay)
  const life = new SessionLifecycle(hub, { sessions, registry, namespaces, limits, now, onError })
  const ready = broker.start(
    brokerHandler({
      registry,
      namespaces,
      sessions,
      disconnectSession: (session, code, reason) => hub.disconnectSession(session, code, reason),
      onError,
    }),
  )
  ready.then(started, onError)
  registry.ready = ready
  const publishing: PublishHost = { broker, ready, stats: hub.stats, metrics: hub }
  const { commands, http } = commandPaths({
    broker,
    namespaces,
    rpc: tables.rpc,
    rpcDeadlines: tables.rpcDeadlines,
    limits: hub.limits,
    maxHistoryLimit: limits.maxHistoryLimit,
    ready,
    registry,
    metrics: hub,
    now,
    publish: (ns, channel, data, idempotencyKey, key, info) =>
      publishToBroker(publishing, ns, channel, data, { idempotencyKey, key, info }),
    presence: (channel) => hub.presence(channel),
    authenticate: (request) => hub.authenticate(request),
    register: (session) => sessions.register(session),
    userSessions: (user) => sessions.ofUser(user)?.size ?? 0,
    limiter: hub.limiter,
    disconnectSession: (session, code, reason) => hub.disconnectSession(session, code, reason),
    endAfterReplies: (session, code, reason) => hub.endAfterReplies(session, code, reason),
    onError,
  })
  return { broker, registry, life, ready, publishing, commands, http }
}
