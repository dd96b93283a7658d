import type { BrokerHealth } from '../broker.ts'

/**
 * The broker's health probe: every `interval` the node publishes a numbered probe to its own
 * topic, through the same Redis path publications take, and waits for it to come back. A probe
 * that fails, or is not back within `timeout`, makes the broker unhealthy; the next one that
 * comes back makes it healthy again and calls `onRecovered` (the broker then catches up what
 * live delivery may have lost). A stalled broker is seen even while its TCP connection looks up.
 */
export class HealthProbe {
  #state: BrokerHealth = { healthy: true, since: Date.now() }
  #seq = 0
  /** Sequence number and send time of the oldest probe not back yet, or -1. */
  #waitingSeq = -1
  #waitingSince = 0
  #timer: ReturnType<typeof setInterval> | null = null
  readonly #send: (probe: string) => Promise<unknown>
  readonly #timeout: number
  readonly #onChange: ((health: BrokerHealth) => void) | undefined
  readonly #onRecovered: () => void

  constructor(
    send: (probe: string) => Promise<unknown>,
    timeout: number,
    onChange: ((health: BrokerHealth) => void) | undefined,
    onRecovered: () => void,
  ) {
    this.#send = send
    this.#timeout = timeout
    this.#onChange = onChange
    this.#onRecovered = onRecovered
  }

  get health(): BrokerHealth {
    return this.#state
  }

  start(interval: number): void {
    this.#timer ??= setInterval(tick, interval, this)
    this.#timer.unref?.()
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }

  /** @internal Sends the next probe and judges the one outstanding. */
  tick(now = Date.now()): void {
    if (this.#waitingSeq >= 0 && now - this.#waitingSince > this.#timeout) {
      this.#set(false, `no health probe came back within ${this.#timeout} ms`)
    }
    const seq = ++this.#seq
    if (this.#waitingSeq < 0) {
      this.#waitingSeq = seq
      this.#waitingSince = now
    }
    this.#send(String(seq)).catch((err: unknown) => {
      this.#set(false, `health probe failed: ${err instanceof Error ? err.message : String(err)}`)
    })
  }

  /** A probe came back. */
  received(probe: string): void {
    const seq = Number(probe)
    if (!(seq >= this.#waitingSeq) || this.#waitingSeq < 0) return
    this.#waitingSeq = -1
    if (!this.#state.healthy) {
      this.#set(true)
      this.#onRecovered()
    }
  }

  /** Marks the broker unhealthy at once (the connection dropped). */
  fail(reason: string): void {
    this.#set(false, reason)
  }

  #set(healthy: boolean, reason?: string): void {
    if (this.#state.healthy === healthy) return
    this.#state = healthy
      ? { healthy, since: Date.now() }
      : { healthy, since: Date.now(), reason: reason ?? 'unhealthy' }
    this.#onChange?.(this.#state)
  }
}

function tick(probe: HealthProbe): void {
  probe.tick()
}
