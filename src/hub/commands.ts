import type { Broker } from '../broker/index.ts'
import { ERRORS, SwitchboardError } from '../errors/index.ts'
import {
  type ClientCommand,
  type ClientInfo,
  type PresenceResult,
  ProtocolDecodeError,
  type PublishResult,
  type ReplyError,
} from '../protocol/index.ts'
import { SpanKind, traced } from '../tracing.ts'
import type { Namespace, Namespaces } from './namespace.ts'
import { clientPublications } from './prepared.ts'
import type { MetricsRecorder } from './recorder.ts'
import type { RpcDeadlines } from './rpc-deadlines.ts'
import type { Session } from './session.ts'
import { turnNow } from './turn-clock.ts'

/** Context passed to rpc handlers. */
export interface RpcContext {
  readonly user: string
  /** Connection id ('' over HTTP POST). */
  readonly client: string
  readonly info?: unknown
  /** The calling session, when the call came over a connection. */
  readonly session: Session | null
}

/** An rpc handler: returns the reply data, or throws a `SwitchboardError` with any code. */
export type RpcHandler = (data: unknown, ctx: RpcContext) => unknown

/** Who runs a command: a session, or a stateless HTTP caller (`client` '', `session` null). */
export interface Caller {
  readonly user: string
  readonly client: string
  readonly info?: unknown
  readonly session: Session | null
  readonly clientInfo: ClientInfo
}

/** The caller behind a session. */
export function callerOf(session: Session): Caller {
  return new SessionCaller(session)
}

/** A session as a caller. `clientInfo` is read from the session only when a command uses it,
 * so a session that never publishes or enters presence never makes its object. */
class SessionCaller implements Caller {
  readonly user: string
  readonly client: string
  readonly info: unknown
  readonly session: Session

  constructor(session: Session) {
    this.user = session.user
    this.client = session.id
    this.info = session.info
    this.session = session
  }

  get clientInfo(): ClientInfo {
    return this.session.clientInfo
  }
}

/** What the stateless commands need from the hub. */
export interface CommandEnv {
  readonly broker: Broker
  readonly namespaces: Namespaces
  readonly rpc: ReadonlyMap<string, RpcHandler>
  /** Answers rpc calls whose handler outlives the hub's `rpcTimeout`. */
  readonly rpcDeadlines: RpcDeadlines
  readonly maxHistoryLimit: number
  /** Counts rpc calls (through the hub's recorder of the moment). */
  readonly metrics: { readonly recorder: MetricsRecorder }
  publish(
    ns: Namespace,
    channel: string,
    data: unknown,
    idempotencyKey: string | undefined,
    key: string | undefined,
    info: ClientInfo | undefined,
  ): Promise<PublishResult>
  presence(channel: string): Promise<PresenceResult>
}

/**
 * Runs a command that needs no connection state — `ping`, `publish`, `rpc`, `presence`,
 * `history` — for a session or for an HTTP POST alike, and resolves to its `result`.
 */
export async function runCommand(
  env: CommandEnv,
  caller: Caller,
  command: ClientCommand,
): Promise<unknown> {
  switch (command.type) {
    case 'ping':
      return {}
    case 'publish': {
      const ns = env.namespaces.of(command.channel)
      if (!ns.clientPublish) throw new SwitchboardError('SWB_ERR_CHANNEL_PUBLISH_DISABLED')
      await env.namespaces.checkPublish(ns, contextOf(caller, command.channel), command.data)
      const value = await env.namespaces.validate(ns, command.data)
      // Keys are scoped by user, so one user cannot pre-empt another's retried publish.
      const idem =
        command.idempotencyKey === undefined
          ? undefined
          : `${caller.user}\u0001${command.idempotencyKey}`
      return env.publish(ns, command.channel, value, idem, command.key, caller.clientInfo)
    }
    case 'rpc': {
      const handler = env.rpc.get(command.method)
      if (handler === undefined) {
        throw new SwitchboardError(
          'SWB_ERR_RPC_NOT_FOUND',
          `No rpc method ${JSON.stringify(command.method)}`,
        )
      }
      const recorder = env.metrics.recorder
      const start = recorder.enabled ? turnNow() : 0
      try {
        const data = await traced(
          `switchboard rpc ${command.method}`,
          SpanKind.SERVER,
          { 'rpc.system': 'switchboard', 'rpc.method': command.method },
          async () => {
            const out = handler(command.data, {
              user: caller.user,
              client: caller.client,
              info: caller.info,
              session: caller.session,
            })
            // Only a call that returned a promise can be stuck; it is raced against the timeout.
            return isThenable(out) ? env.rpcDeadlines.race(out, command.method) : out
          },
        )
        if (recorder.enabled) recorder.rpc(command.method, true, (turnNow() - start) / 1000)
        return { data }
      } catch (err) {
        if (recorder.enabled) recorder.rpc(command.method, false, (turnNow() - start) / 1000)
        if (err instanceof SwitchboardError) throw err
        throw new SwitchboardError('SWB_ERR_RPC_FAILED', undefined, { cause: err })
      }
    }
    case 'presence': {
      const ns = env.namespaces.of(command.channel)
      if (!ns.presence) throw new SwitchboardError('SWB_ERR_CHANNEL_PRESENCE_DISABLED')
      if (!caller.session?.subs.has(command.channel)) {
        await env.namespaces.checkSubscribe(ns, contextOf(caller, command.channel))
      }
      return env.presence(command.channel)
    }
    case 'history': {
      const ns = env.namespaces.of(command.channel)
      if (ns.history.size === 0) throw new SwitchboardError('SWB_ERR_CHANNEL_HISTORY_DISABLED')
      if (!caller.session?.subs.has(command.channel)) {
        await env.namespaces.checkSubscribe(ns, contextOf(caller, command.channel))
      }
      const limit = Math.min(Math.max(command.limit ?? env.maxHistoryLimit, 0), env.maxHistoryLimit)
      const res = await env.broker.history(command.channel, {
        limit,
        ...(command.since === undefined ? null : { since: command.since }),
      })
      return {
        offset: res.offset,
        epoch: res.epoch,
        publications: clientPublications(res.publications, ns.timestamps),
      }
    }
    default:
      throw new SwitchboardError(
        'SWB_ERR_PROTOCOL_BAD_COMMAND',
        `${command.type} needs a connection`,
      )
  }
}

/** The hook context of a caller on a channel. */
export function contextOf(caller: Caller, channel: string) {
  return { channel, user: caller.user, client: caller.client, info: caller.info }
}

/**
 * The reply error for a thrown value: its code and, when the error may be shown, its message.
 * Returns `null` for an unexpected error (the caller logs it and answers `SWB_ERR_HUB_INTERNAL`).
 */
export function replyErrorOf(err: unknown): ReplyError | null {
  if (err instanceof SwitchboardError) {
    const known = (ERRORS as Record<string, { message: string }>)[err.code]
    return { code: err.code, message: err.expose ? err.message : (known?.message ?? 'Error') }
  }
  if (err instanceof ProtocolDecodeError) {
    return { code: 'SWB_ERR_PROTOCOL_BAD_COMMAND', message: err.message }
  }
  return null
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}
