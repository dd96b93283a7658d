import type { Broker } from '../broker/index.ts'
import type { ClientInfo, PublishResult } from '../protocol/index.ts'
import { SpanKind, traced } from '../tracing.ts'
import type { HubStats } from './hub-options.ts'
import type { Namespace } from './namespace.ts'
import type { RecorderHost } from './timed-broker.ts'
import { turnNow } from './turn-clock.ts'

/** Options of one publication on its way to the broker. */
export interface PublishRequest {
  readonly idempotencyKey?: string | undefined
  readonly key?: string | undefined
  readonly info?: ClientInfo | undefined
}

/** What publishing needs of its hub. */
export interface PublishHost {
  readonly broker: Broker
  /** Settles once the broker has started. */
  readonly ready: Promise<void>
  readonly stats: HubStats
  /** Times the broker call (switchboard_broker_call_duration_seconds). */
  readonly metrics: RecorderHost
}

/**
 * Appends a validated publication through the broker with its namespace's history settings,
 * counts it, and answers its position (`duplicate: true` when the idempotency key was seen in
 * the window).
 */
export function publishToBroker(
  host: PublishHost,
  ns: Namespace,
  channel: string,
  data: unknown,
  request: PublishRequest,
): Promise<PublishResult> {
  return traced(
    'switchboard publish',
    SpanKind.PRODUCER,
    { 'messaging.system': 'switchboard', 'messaging.destination.name': channel },
    () => publishCounted(host, ns, channel, data, request),
  )
}

async function publishCounted(
  host: PublishHost,
  ns: Namespace,
  channel: string,
  data: unknown,
  request: PublishRequest,
): Promise<PublishResult> {
  const { idempotencyKey, key, info } = request
  await host.ready
  const recorder = host.metrics.recorder
  const start = recorder.enabled ? turnNow() : 0
  let res: Awaited<ReturnType<Broker['publish']>>
  try {
    res = await host.broker.publish(channel, data, {
      history: ns.history,
      idempotencyWindow: ns.idempotencyWindow,
      ...(idempotencyKey === undefined ? null : { idempotencyKey }),
      ...(key === undefined ? null : { key }),
      ...(info === undefined ? null : { info }),
    })
  } catch (err) {
    if (recorder.enabled) recorder.brokerCall('publish', (turnNow() - start) / 1000, false)
    throw err
  }
  if (recorder.enabled) recorder.brokerCall('publish', (turnNow() - start) / 1000, true)
  if (res.duplicate) return { offset: res.offset, epoch: res.epoch, duplicate: true }
  host.stats.published++
  return { offset: res.offset, epoch: res.epoch }
}
