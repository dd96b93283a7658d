import type {
  Broker,
  BrokerHandler,
  BrokerHealth,
  BrokerHistoryOptions,
  BrokerHistoryResult,
  BrokerPublishOptions,
  BrokerPublishResult,
  ControlMessage,
} from '../broker/index.ts'
import type { ClientInfo } from '../protocol/index.ts'
import { currentCarrier, failSpan, SpanKind, startSpan, withSpan } from '../tracing.ts'
import type { BrokerOperation, MetricsRecorder } from './recorder.ts'
import { turnNow } from './turn-clock.ts'

/** Where a {@link TimedBroker} finds the recorder of the moment (metrics may be turned on after
 * the hub is made). */
export interface RecorderHost {
  readonly recorder: MetricsRecorder
}

/**
 * The hub's view of its broker: every call goes to `inner`, and while metrics record, the calls
 * that reach the broker's store or network are timed (`switchboard_broker_call_duration_seconds`).
 * With metrics off it only forwards. `hub.broker` stays the broker the application gave.
 */
export class TimedBroker implements Broker {
  readonly name: string
  readonly inner: Broker
  readonly #host: RecorderHost

  constructor(inner: Broker, host: RecorderHost) {
    this.inner = inner
    this.name = inner.name
    this.#host = host
  }

  #timed<T>(operation: BrokerOperation, call: Promise<T>): Promise<T> {
    const recorder = this.#host.recorder
    if (!recorder.enabled) return call
    const start = turnNow()
    return call.then(
      (out) => {
        recorder.brokerCall(operation, (turnNow() - start) / 1000, true)
        return out
      },
      (err: unknown) => {
        recorder.brokerCall(operation, (turnNow() - start) / 1000, false)
        throw err
      },
    )
  }

  start(handler: BrokerHandler): Promise<void> {
    return this.inner.start(handler)
  }

  publish(
    channel: string,
    data: unknown,
    options: BrokerPublishOptions = {},
  ): Promise<BrokerPublishResult> {
    // Timed by the hub's publish path itself (publish.ts), inside an await it makes anyway: a
    // further promise here measurably slowed every publication.
    const span = startSpan('switchboard broker publish', SpanKind.CLIENT)
    if (span === null) return this.inner.publish(channel, data, options)
    // Traced: the publication carries this span's context, so every node's fan-out descends from it.
    span.setAttributes({
      'messaging.system': 'switchboard',
      'messaging.destination.name': channel,
      'switchboard.broker': this.name,
    })
    return withSpan(span, () => {
      const trace = currentCarrier()
      const traced = trace === undefined ? options : { ...options, trace }
      return this.inner.publish(channel, data, traced)
    }).then(
      (res) => {
        span.setAttribute('switchboard.offset', res.offset)
        span.end()
        return res
      },
      (err: unknown) => {
        failSpan(span, err)
        throw err
      },
    )
  }

  history(channel: string, options?: BrokerHistoryOptions): Promise<BrokerHistoryResult> {
    return this.#timed('history', this.inner.history(channel, options))
  }

  removeHistory(channel: string): Promise<void> {
    return this.#timed('history', this.inner.removeHistory(channel))
  }

  subscribe(channel: string): Promise<void> {
    return this.#timed('control', this.inner.subscribe(channel))
  }

  unsubscribe(channel: string): Promise<void> {
    return this.#timed('control', this.inner.unsubscribe(channel))
  }

  publishJoin(channel: string, info: ClientInfo): Promise<void> {
    return this.#timed('presence', this.inner.publishJoin(channel, info))
  }

  publishLeave(channel: string, info: ClientInfo): Promise<void> {
    return this.#timed('presence', this.inner.publishLeave(channel, info))
  }

  publishControl(message: ControlMessage): Promise<void> {
    return this.#timed('control', this.inner.publishControl(message))
  }

  addPresence(channel: string, info: ClientInfo): Promise<void> {
    return this.#timed('presence', this.inner.addPresence(channel, info))
  }

  removePresence(channel: string, client: string): Promise<void> {
    return this.#timed('presence', this.inner.removePresence(channel, client))
  }

  presence(channel: string): Promise<ClientInfo[]> {
    return this.#timed('presence', this.inner.presence(channel))
  }

  presenceCount(channel: string): Promise<number> {
    return this.#timed('presence', this.inner.presenceCount(channel))
  }

  close(): Promise<void> {
    return this.inner.close()
  }

  health(): BrokerHealth {
    return this.inner.health?.() ?? HEALTHY
  }
}

const HEALTHY: BrokerHealth = Object.freeze({ healthy: true, since: Date.now() })
