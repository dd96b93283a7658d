import type { BrokerHandler, ControlMessage } from '../broker/index.ts'
import type { ClientInfo, Publication } from '../protocol/index.ts'
import type { Namespace, Namespaces } from './namespace.ts'
import { PreparedMessage } from './prepared.ts'
import type { ChannelRegistry } from './registry.ts'
import { CONNECTED, type Session } from './session.ts'
import type { SessionTable } from './session-table.ts'

/** What the broker's callbacks reach into: the hub's tables and its one way to end a session. */
export interface ControlEnv {
  readonly registry: ChannelRegistry
  readonly namespaces: Namespaces
  readonly sessions: SessionTable
  readonly disconnectSession: (session: Session, code: number, reason: string) => void
  readonly onError: (error: unknown) => void
}

/** The handler a hub gives its broker: publications, join/leave and control messages. */
export function brokerHandler(env: ControlEnv): BrokerHandler {
  const registry = env.registry
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
      applyControl(env, message)
    },
    onError: env.onError,
  }
}

function serverSubscribeSafe(env: ControlEnv, session: Session, channel: string): void {
  let ns: Namespace
  try {
    ns = env.namespaces.of(channel)
  } catch (err) {
    env.onError(err)
    return
  }
  env.registry.serverSubscribe(session, channel, ns, undefined).catch(env.onError)
}

/** Applies a control message (sent by any node through the broker) to this node's sessions. */
export function applyControl(env: ControlEnv, message: ControlMessage): void {
  const sessions = message.user === undefined ? undefined : env.sessions.ofUser(message.user)
  switch (message.type) {
    case 'user-message': {
      if (sessions === undefined) return
      const prepared = new PreparedMessage({ type: 'message', data: message.data })
      for (const s of sessions) s.enqueue(prepared.frame(s.format))
      return
    }
    case 'disconnect': {
      const targets = [...(sessions ?? [])]
      if (message.client !== undefined) {
        const s = env.sessions.get(message.client)
        if (s !== undefined) targets.push(s)
      }
      for (const s of targets) env.disconnectSession(s, message.code, message.reason)
      return
    }
    case 'subscribe':
      for (const s of [...(sessions ?? [])]) {
        if (!s.subs.has(message.channel)) serverSubscribeSafe(env, s, message.channel)
      }
      return
    case 'unsubscribe':
      for (const s of [...(sessions ?? [])]) env.registry.unsubscribe(s, message.channel, true)
      return
    case 'refresh': {
      // Only the session's own user may extend it: a token for someone else changes nothing.
      const s = env.sessions.get(message.client)
      if (s !== undefined && s.state === CONNECTED && s.user === message.user) {
        s.expiresAt = message.expiresAt
      }
      return
    }
  }
}
