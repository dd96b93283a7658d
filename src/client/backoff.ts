import { reconnectAllowed } from '../protocol/codes.ts'

/** Reconnect delay options (milliseconds). */
export interface BackoffOptions {
  /** Ceiling of the first retry's delay. Default 500. */
  minDelay?: number
  /** Largest ceiling. Default 20 000. */
  maxDelay?: number
  /** Growth of the ceiling per failed attempt. Default 2. */
  factor?: number
  /** Source of randomness in [0, 1), for tests. Default `Math.random`. */
  random?: () => number
}

/** The reconnect defaults; `docs/client.md` explains why these numbers. */
export const BACKOFF_DEFAULTS = Object.freeze({ minDelay: 500, maxDelay: 20_000, factor: 2 })

/**
 * Exponential backoff with full jitter: attempt `n` (0-based) waits a uniformly random time in
 * `[0, min(maxDelay, minDelay · factor^n)]`. Full jitter spreads a crowd of clients that lost the
 * same server over the whole window instead of bunching them at its edges, which is what keeps a
 * restarted server from being hit by every client at once. A delay advertised by the server is a
 * floor: the jittered time is added on top of it.
 *
 * @example
 * const b = new Backoff({ minDelay: 500, maxDelay: 20_000, factor: 2 })
 * setTimeout(reconnect, b.next())   // 0-500 ms, then 0-1000 ms, 0-2000 ms, … up to 0-20 s
 * b.reset()                         // after a successful connect
 */
export class Backoff {
  readonly minDelay: number
  readonly maxDelay: number
  readonly factor: number
  readonly #random: () => number
  #attempt = 0

  constructor(options: BackoffOptions = {}) {
    this.minDelay = positive('minDelay', options.minDelay ?? BACKOFF_DEFAULTS.minDelay)
    this.maxDelay = positive('maxDelay', options.maxDelay ?? BACKOFF_DEFAULTS.maxDelay)
    this.factor = positive('factor', options.factor ?? BACKOFF_DEFAULTS.factor)
    if (this.factor < 1) throw new RangeError('backoff factor must be >= 1')
    if (this.maxDelay < this.minDelay) throw new RangeError('maxDelay must be >= minDelay')
    this.#random = options.random ?? Math.random
  }

  /** Number of delays handed out since the last {@link reset}. */
  get attempt(): number {
    return this.#attempt
  }

  /** The ceiling of attempt `n`: `min(maxDelay, minDelay · factor^n)`. */
  ceiling(n: number): number {
    return Math.min(this.maxDelay, this.minDelay * this.factor ** Math.min(n, 64))
  }

  /** The next delay in ms; `serverDelay` (ms, from a `disconnect` push) is added as a floor. */
  next(serverDelay = 0): number {
    const jitter = Math.floor(this.#random() * this.ceiling(this.#attempt))
    this.#attempt++
    const floor = Number.isFinite(serverDelay) && serverDelay > 0 ? serverDelay : 0
    return floor + jitter
  }

  /** Starts again from the first ceiling (call after a successful connect). */
  reset(): void {
    this.#attempt = 0
  }
}

function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`backoff ${name} must be a positive number, got ${String(value)}`)
  }
  return value
}

/**
 * Whether the client should reconnect after a close or `disconnect` with `code`: the protocol's
 * ranges decide (3000–3499 reconnect, 3500–3999 stop); a `disconnect` push may say so
 * explicitly with `reconnect`, which wins.
 *
 * @example
 * shouldReconnect(3001) // true
 * shouldReconnect(3500) // false
 */
export function shouldReconnect(code: number, reconnect?: boolean): boolean {
  if (reconnect !== undefined) return reconnect
  return reconnectAllowed(code)
}
