import type { Broker } from '../broker/index.ts'
import type { ClientInfo, PublishResult } from '../protocol/index.ts'
import type { Namespace } from './namespace.ts'

/** Options of one publication on its way to the broker. */
export interface PublishRequest {
  readonly idempotencyKey?: string | undefined
  readonly key?: string | undefined
  readonly info?: ClientInfo | undefined
}

/**
 * Appends a validated publication through the broker with its namespace's history settings, and
 * answers its position (`duplicate: true` when the idempotency key was seen in the window).
 */
export async function publishToBroker(
  broker: Broker,
  ns: Namespace,
  channel: string,
  data: unknown,
  request: PublishRequest,
): Promise<PublishResult> {
  const { idempotencyKey, key, info } = request
  const res = await broker.publish(channel, data, {
    history: ns.history,
    idempotencyWindow: ns.idempotencyWindow,
    ...(idempotencyKey === undefined ? null : { idempotencyKey }),
    ...(key === undefined ? null : { key }),
    ...(info === undefined ? null : { info }),
  })
  return res.duplicate
    ? { offset: res.offset, epoch: res.epoch, duplicate: true }
    : { offset: res.offset, epoch: res.epoch }
}
