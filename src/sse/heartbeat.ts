/**
 * One shared heartbeat timer for many SSE streams. A stream registers while it is open; every
 * `interval` the registry asks each stream that wrote nothing since the previous tick to send a
 * heartbeat comment. There is never a timer per stream: the registry arms its single timer when
 * the first stream joins and clears it when the last one leaves, so an idle process holds no
 * timer at all. The registry is also the list of live streams, which is how an app ends them all
 * on shutdown.
 */
import { createError } from '../errors/index.ts'

/** What the registry needs from a stream. `SseStream` implements it. */
export interface HeartbeatMember {
  /** Called once per tick; the member decides whether it needs a heartbeat. */
  onHeartbeat(): void
  /** Ends the stream (used by `closeAll`). */
  close(): void
}

/** Default heartbeat interval: 15 s, under the 30-60 s idle timeouts of common proxies. */
export const DEFAULT_HEARTBEAT_INTERVAL = 15_000

/**
 * The registry of live streams with their one shared heartbeat timer.
 *
 * @example
 * const heartbeat = new HeartbeatRegistry({ interval: 10_000 })
 * const stream = createSseStream(req, res, { heartbeat })
 * // on shutdown:
 * heartbeat.closeAll()
 */
export class HeartbeatRegistry {
  /** Milliseconds between ticks. */
  readonly interval: number
  private readonly members = new Set<HeartbeatMember>()
  private timer: NodeJS.Timeout | null = null

  constructor(options: { interval?: number } = {}) {
    const interval = options.interval ?? DEFAULT_HEARTBEAT_INTERVAL
    if (!Number.isInteger(interval) || interval < 10 || interval > 2_147_483_647) {
      throw createError(
        'SWB_ERR_INVALID_OPTION',
        `heartbeat interval must be an integer of milliseconds >= 10, got ${interval}`,
      )
    }
    this.interval = interval
  }

  /** Number of registered (live) streams. */
  get size(): number {
    return this.members.size
  }

  /** Whether the shared timer is armed (true exactly when at least one stream is registered). */
  get armed(): boolean {
    return this.timer !== null
  }

  /** Registers a stream; arms the shared timer if it is the first. */
  add(member: HeartbeatMember): void {
    this.members.add(member)
    if (this.timer === null) {
      // Not unref'd: it exists only while streams (whose sockets keep the process alive anyway)
      // do, and a ref'd timer shows in process.getActiveResourcesInfo(), so leaks are visible.
      this.timer = setInterval(tick, this.interval, this)
    }
  }

  /** Unregisters a stream; clears the shared timer when none is left. */
  delete(member: HeartbeatMember): void {
    if (!this.members.delete(member) || this.members.size !== 0 || this.timer === null) return
    clearInterval(this.timer)
    this.timer = null
  }

  /** The streams a paced drain ends one by one, except those another layer `claimed`. */
  drainItems(claimed: WeakSet<object>): { close(delayHint: number): void }[] {
    const items: { close(delayHint: number): void }[] = []
    for (const member of this.members) {
      if (!claimed.has(member)) items.push({ close: () => member.close() })
    }
    return items
  }

  /** Closes every registered stream (each unregisters itself) and clears the timer. */
  closeAll(): void {
    for (const member of [...this.members]) member.close()
    this.members.clear()
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
  }

  /** @internal Runs one tick now (the timer's callback; exposed for tests). */
  tick(): void {
    // Iterating a Set is safe while members delete themselves (a failed write closes a stream).
    for (const member of this.members) member.onHeartbeat()
  }
}

function tick(registry: HeartbeatRegistry): void {
  registry.tick()
}

/** The registry streams use when none is given: one timer for the whole process. */
export const defaultHeartbeat = new HeartbeatRegistry()
