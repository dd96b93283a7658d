// The app's life after `listen`: readiness for load balancers, the paced drain of live
// connections on deploy, and the ordered close of the layers that hold connections.
import type { Server } from 'node:http'
import { SwitchboardError } from './errors/index.ts'

/** Default drain window: sessions are disconnected in paced batches over this many ms. */
export const DEFAULT_DRAIN_WINDOW = 10_000
/** Pacing tick of a drain: one batch of disconnects per tick (one timer for the whole drain). */
export const DRAIN_TICK = 100
/** Ceiling of the reconnect hint a drained client gets (see {@link reconnectHint}). */
export const MAX_RECONNECT_HINT = 2_000

/** Called when the app closes, after the server stopped. */
export type CloseHook = () => void | Promise<void>

/** Options of `app.close()`. */
export interface CloseOptions {
  /** How long in-flight requests may take before their sockets are cut, ms. Default 5,000. */
  readonly graceful?: number
  /**
   * Drain live connections before closing: readiness turns false, new WebSocket upgrades and
   * stream opens are refused with 503, and sessions are disconnected in paced batches over the
   * window, each with a reconnect hint, while HTTP requests are still served. `true` means
   * {@link DEFAULT_DRAIN_WINDOW} (10 s), a number is the window in ms. Default: no drain
   * (every connection is closed at once).
   */
  readonly drain?: boolean | number
}

/** One live connection a drain will end: `close` is called once, with the reconnect hint. */
export interface DrainItem {
  close(delayHint: number): void
}

/**
 * A layer that holds live connections. At drain time `collect` returns what it will end, skipping
 * connections another layer `claimed` (a channel session's WebSocket is ended by the hub, with a
 * `disconnect` push, not by the WebSocket registry); `close` then ends whatever is left.
 */
export interface Closer {
  collect?(claimed: WeakSet<object>): DrainItem[]
  close(graceful: number): void | Promise<void>
}

/** One readiness check: `ok`, or not with a reason. */
export interface CheckResult {
  readonly ok: boolean
  readonly reason?: string
}

/** The app's readiness: ready only when it serves, is not draining, and every check is ok. */
export interface Readiness {
  readonly ready: boolean
  /** `starting` until the app listens (or is attached), `serving`, `draining`, `closed`. */
  readonly state: 'starting' | 'serving' | 'draining' | 'closed'
  readonly checks: Readonly<Record<string, CheckResult>>
}

/**
 * The reconnect hint of a drained client, ms: drawn uniformly from `[0, min(window / 10, 2 s))`,
 * so the clients of one batch do not all arrive at the next node in the same instant. The spread
 * over the whole window comes from pacing the batches themselves.
 */
export function reconnectHint(window: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(window / 10, MAX_RECONNECT_HINT))
}

/**
 * Ends `items` in paced batches over `window` ms: one equal batch every {@link DRAIN_TICK} ms, the
 * first at once, the last at `window - DRAIN_TICK`, so the disconnects are spread evenly. Ticks
 * are scheduled against the start time (a late tick shortens the next wait, so lateness never
 * adds up), and a tick that runs late still ends only its own batch plus any that came due
 * meanwhile: the schedule, not a catch-up, sets the pace. One timer at a time for the whole
 * drain. Resolves after the last item.
 */
export function pace(items: readonly DrainItem[], window: number): Promise<void> {
  const n = items.length
  if (n === 0) return Promise.resolve()
  const ticks = Math.max(1, Math.floor(window / DRAIN_TICK))
  const start = performance.now()
  let next = 0
  return new Promise((resolve) => {
    const step = (): void => {
      // The batches due by now: tick k (0-based) is due at k × DRAIN_TICK.
      const due = Math.min(ticks, Math.floor((performance.now() - start) / DRAIN_TICK) + 1)
      const upTo = Math.min(n, Math.ceil((n * due) / ticks))
      for (; next < upTo; next++) {
        try {
          items[next]!.close(reconnectHint(window))
        } catch {}
      }
      if (next >= n) {
        resolve()
        return
      }
      setTimeout(step, Math.max(0, start + due * DRAIN_TICK - performance.now()))
    }
    step()
  })
}

/** How long a drain keeps readiness off before its first disconnect: 10 % of the window, at most
 * 1 s (the rest of the window paces the disconnects). */
export function announceTime(window: number): number {
  return Math.min(1000, Math.floor(window / 10))
}

/** The window of a `close({ drain })` option, checked: 0 for no drain. */
export function drainWindow(drain: CloseOptions['drain']): number {
  if (drain === undefined || drain === false) return 0
  if (drain === true) return DEFAULT_DRAIN_WINDOW
  if (!Number.isInteger(drain) || drain < 0) {
    throw new SwitchboardError(
      'SWB_ERR_INVALID_OPTION',
      'close({ drain }) must be a boolean or a non-negative integer of ms',
    )
  }
  return drain
}

/** The checked settings of `app.close(options)`; throws `SWB_ERR_INVALID_OPTION`. */
export function closeSettings(options: CloseOptions): { graceful: number; window: number } {
  const graceful = options.graceful ?? 5_000
  if (!Number.isInteger(graceful) || graceful < 0) {
    throw new SwitchboardError(
      'SWB_ERR_INVALID_OPTION',
      'close({ graceful }) must be a non-negative integer of ms',
    )
  }
  return { graceful, window: drainWindow(options.drain) }
}

/** Stops accepting connections; resolves once the server has closed (every socket gone). */
export function stopAccepting(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!server.listening) return resolve()
    server.close(() => resolve())
    server.closeIdleConnections()
  })
}

const CUT = Symbol('cut')

/**
 * Lets in-flight requests finish within `graceful` ms, closing each socket as it goes idle, then
 * cuts whatever is left; resolves once `stopped` (the server's close) has.
 */
export async function finishRequests(
  server: Server,
  stopped: Promise<void>,
  graceful: number,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<typeof CUT>((resolve) => {
    timer = setTimeout(resolve, graceful, CUT)
  })
  const sweep = setInterval(() => server.closeIdleConnections(), 50)
  const outcome = await Promise.race([stopped, deadline])
  clearInterval(sweep)
  clearTimeout(timer)
  if (outcome === CUT) {
    server.closeAllConnections()
    await stopped
  }
}

/**
 * Readiness state and the layers to drain and close, in order: sessions (the channel hub) first,
 * so their clients get the hub's `disconnect` push (a reconnect code) before the transports
 * under them go away with their own close codes.
 */
export class Lifecycle {
  /** Connections a layer ends itself (see {@link Closer.collect}). */
  readonly claimed = new WeakSet<object>()
  readonly #closers: Closer[] = []
  readonly #checks = new Map<string, () => CheckResult>()
  readonly #hooks: CloseHook[] = []
  #state: Readiness['state'] = 'starting'

  add(closer: Closer, phase: 'sessions' | 'transports'): void {
    if (phase === 'sessions') this.#closers.unshift(closer)
    else this.#closers.push(closer)
  }

  onClose(hook: CloseHook): void {
    this.#hooks.push(hook)
  }

  /** Runs the `onClose` hooks in order; a failing hook is reported and the rest still run. */
  async runCloseHooks(onError: (err: unknown) => void): Promise<void> {
    for (const hook of this.#hooks) {
      try {
        await hook()
      } catch (err) {
        onError(err)
      }
    }
  }

  /** Adds (or replaces) a named readiness check; a check that throws is not ok. */
  check(name: string, check: () => CheckResult): void {
    this.#checks.set(name, check)
  }

  /** The app serves requests (after `listen` or `attach`). */
  serving(): void {
    if (this.#state === 'starting') this.#state = 'serving'
  }

  /** Whether new long-lived connections are refused (draining or closed). */
  get refusing(): boolean {
    return this.#state === 'draining' || this.#state === 'closed'
  }

  readiness(): Readiness {
    const checks: Record<string, CheckResult> = {}
    let ok = this.#state === 'serving'
    for (const [name, check] of this.#checks) {
      let result: CheckResult
      try {
        result = check()
      } catch (err) {
        result = { ok: false, reason: err instanceof Error ? err.message : String(err) }
      }
      checks[name] = result
      if (!result.ok) ok = false
    }
    return { ready: ok, state: this.#state, checks }
  }

  /**
   * Turns readiness off and ends every layer's connections in paced batches over `window`. The
   * first batch waits {@link announceTime} so that load balancers polling readiness see the node
   * leave before its clients come looking for another one.
   */
  async drain(window: number): Promise<void> {
    this.#state = 'draining'
    if (window <= 0) return
    const announce = announceTime(window)
    await new Promise((resolve) => setTimeout(resolve, announce))
    const items: DrainItem[] = []
    for (const closer of this.#closers) {
      if (closer.collect === undefined) continue
      for (const item of closer.collect(this.claimed)) items.push(item)
    }
    await pace(items, window - announce)
  }

  /** Closes every layer in order (after a drain: whatever is left), logging failures. */
  async close(graceful: number, onError: (err: unknown) => void): Promise<void> {
    this.#state = 'closed'
    for (const closer of this.#closers) {
      try {
        await closer.close(graceful)
      } catch (err) {
        onError(err)
      }
    }
  }
}
