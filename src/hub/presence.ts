import type { Broker } from '../broker/index.ts'
import type { ClientInfo, PresenceResult } from '../protocol/index.ts'
import type { Namespace } from './namespace.ts'

/**
 * Presence: who is subscribed to a channel (user id, connection id, connect info), kept by the
 * broker so every node sees every member. Join and leave pushes go out through the broker to the
 * channel's subscribers on every node, but only while the channel has at most
 * `presenceMaxMembers` members; above that a channel is "counts only": presence answers carry
 * the count alone and join/leave pushes stop, so a 50,000-member channel does not flood its
 * members with churn.
 *
 * @example
 * await enterPresence(broker, ns, 'room:1', session.clientInfo)
 * await presenceOf(broker, ns, 'room:1') // { count: 1, members: [{ user, client, info }] }
 */
export async function enterPresence(
  broker: Broker,
  ns: Namespace,
  channel: string,
  info: ClientInfo,
): Promise<void> {
  if (!ns.presence) return
  await broker.addPresence(channel, info)
  if (ns.joinLeave && (await broker.presenceCount(channel)) <= ns.presenceMaxMembers) {
    await broker.publishJoin(channel, info)
  }
}

/** Removes a member; announces the leave when the channel was at or below the threshold. */
export async function leavePresence(
  broker: Broker,
  ns: Namespace,
  channel: string,
  info: ClientInfo,
): Promise<void> {
  if (!ns.presence) return
  await broker.removePresence(channel, info.client)
  // Symmetric with the join rule: the member count before this removal was at most the limit.
  if (ns.joinLeave && (await broker.presenceCount(channel)) < ns.presenceMaxMembers) {
    await broker.publishLeave(channel, info)
  }
}

/** The presence answer: members with their count, or the count alone above the threshold. */
export async function presenceOf(
  broker: Broker,
  ns: Namespace,
  channel: string,
): Promise<PresenceResult> {
  const count = await broker.presenceCount(channel)
  if (count > ns.presenceMaxMembers) return { count }
  const members = await broker.presence(channel)
  return { count: members.length, members }
}
