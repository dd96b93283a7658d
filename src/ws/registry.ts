import type { ServerWebSocket } from './connection.ts'

/**
 * The live connections of one app and the ONE timer that serves them all: idle pings and
 * timeouts, and close-handshake deadlines. No connection owns a timer. The timer runs only while
 * there are connections, is unref'd, and ticks at a quarter of the shortest idle timeout
 * (between 100 ms and 1 s), so deadlines are met within one tick.
 *
 * @example
 * const registry = new WsRegistry()
 * await registry.closeAll(1000) // graceful shutdown: 1001 to every connection, then wait
 */
export class WsRegistry {
  readonly connections = new Set<ServerWebSocket<unknown>>()
  /**
   * Coarse clock refreshed every tick: ms since the module loaded, so the stamps connections keep
   * stay small integers (V8 stores them inline) for the first ~24 days of a process.
   */
  now = clock()
  private timer: NodeJS.Timeout | null = null
  private period = 1000
  private closed = false
  /** Called with errors thrown by route hooks (the app logs them). */
  onError: (err: unknown) => void = () => {}

  /** Whether `closeAll()` ran: new upgrades are refused. */
  get closing(): boolean {
    return this.closed
  }

  add(ws: ServerWebSocket<unknown>, idleMs: number, closeMs: number): void {
    this.connections.add(ws)
    // The clock only advances while the timer runs; a stale one would make newcomers look idle.
    if (this.timer === null) this.now = clock()
    const want = Math.max(100, Math.min(1000, idleMs > 0 ? idleMs / 4 : 1000, closeMs / 4))
    if (this.timer === null || want < this.period) {
      this.period = want
      if (this.timer !== null) clearInterval(this.timer)
      this.now = clock()
      this.timer = setInterval(tick, this.period, this)
      this.timer.unref()
    }
  }

  delete(ws: ServerWebSocket<unknown>): void {
    this.connections.delete(ws)
    if (this.connections.size === 0) this.stop()
  }

  private stop(): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    this.period = 1000
  }

  /** @internal one pass over every connection. */
  tick(): void {
    this.now = clock()
    for (const ws of this.connections) ws.heartbeat(this.now)
  }

  /**
   * The connections a paced drain closes one by one (1001, going away), except those another
   * layer `claimed` (a channel session is ended by the hub, with its `disconnect` push).
   */
  drainItems(claimed: WeakSet<object>): { close(delayHint: number): void }[] {
    const items: { close(delayHint: number): void }[] = []
    for (const ws of this.connections) {
      if (!claimed.has(ws)) items.push({ close: () => ws.close(1001, 'server shutting down') })
    }
    return items
  }

  /**
   * Closes every connection with `code` (default 1001, going away) and resolves once all are
   * gone; those still open after `graceMs` are destroyed. The shared timer stops.
   */
  async closeAll(graceMs = 2000, code = 1001, reason = 'server shutting down'): Promise<void> {
    this.closed = true
    const open = [...this.connections]
    if (open.length === 0) {
      this.stop()
      return
    }
    const gone = open.map((ws) => ws.closed)
    for (const ws of open) ws.close(code, reason)
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs)
    })
    await Promise.race([Promise.all(gone), deadline])
    clearTimeout(timer)
    for (const ws of this.connections) ws.terminate()
    await Promise.all(gone)
    this.stop()
  }
}

const EPOCH = Date.now()

function clock(): number {
  return Date.now() - EPOCH
}

function tick(registry: WsRegistry): void {
  registry.tick()
}
