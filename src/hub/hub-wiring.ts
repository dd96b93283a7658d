import type { Broker } from '../broker/index.ts'
import type { ClientInfo, PresenceResult, PublishResult } from '../protocol/index.ts'
import { type AuthenticateRequest, type Identity, ttlSeconds } from './auth.ts'
import type { CommandEnv, RpcHandler } from './commands.ts'
import type { HttpCommandEnv } from './http-command.ts'
import type { Limiter } from './limits.ts'
import type { Namespace, Namespaces } from './namespace.ts'
import type { ChannelRegistry } from './registry.ts'
import type { RpcDeadlines } from './rpc-deadlines.ts'
import type { Session, SessionLimits } from './session.ts'
import { SessionCommands } from './session-commands.ts'
import type { RecorderHost } from './timed-broker.ts'

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
