/**
 * Page visibility as the client needs it. In a browser it is `document.visibilityState`; in Node
 * there is none (the page is always "visible"); tests inject their own.
 *
 * @example
 * const v: VisibilitySource = { hidden: () => false, subscribe: () => () => {} }
 */
export interface VisibilitySource {
  /** Whether the page is hidden right now. */
  hidden(): boolean
  /** Calls `listener` on every change; returns a function that stops it. */
  subscribe(listener: (hidden: boolean) => void): () => void
}

interface DocumentLike {
  readonly visibilityState?: string
  addEventListener(type: string, listener: () => void): void
  removeEventListener(type: string, listener: () => void): void
}

/**
 * The browser's visibility (`visibilitychange` on `document`), or `null` outside a browser.
 *
 * @example
 * const visibility = documentVisibility() // null in Node
 */
export function documentVisibility(): VisibilitySource | null {
  const doc = (globalThis as { document?: DocumentLike }).document
  if (doc === undefined || typeof doc.addEventListener !== 'function') return null
  return {
    hidden: () => doc.visibilityState === 'hidden',
    subscribe(listener) {
      const handler = (): void => listener(doc.visibilityState === 'hidden')
      doc.addEventListener('visibilitychange', handler)
      return () => doc.removeEventListener('visibilitychange', handler)
    },
  }
}

/** What {@link Liveness} needs from the client. */
export interface LivenessHost {
  /** Sends a `ping` command; resolves on its reply, rejects when `timeout` ms pass first. */
  ping(timeout: number): Promise<unknown>
  /** The connection is dead: close it and reconnect. */
  dead(): void
}

/** Heartbeat options (milliseconds). */
export interface LivenessOptions {
  /** Send a `ping` when nothing arrived for this long. Default 25 000. */
  interval: number
  /** How long a `ping` may wait for its reply. Default 10 000. */
  timeout: number
  visibility: VisibilitySource | null
}

/**
 * Heartbeats that know about page visibility. While connected, a `ping` goes out whenever nothing
 * has arrived for `interval` ms, and a missing reply within `timeout` ms means the connection is
 * dead (a half-open TCP connection never closes by itself). Browsers throttle timers in hidden
 * tabs (to once a minute or less), so a timeout measured there says nothing about the network:
 * while the page is hidden a late or missing reply never kills the connection, the socket's own
 * close events still do. When the page becomes visible again, the client pings at once and drops
 * a connection that does not answer, instead of waiting for the next interval.
 *
 * @example
 * const live = new Liveness(host, { interval: 25_000, timeout: 10_000, visibility })
 * live.start(); socket.onmessage = () => live.seen(); live.stop()
 */
export class Liveness {
  readonly #host: LivenessHost
  readonly #options: LivenessOptions
  #timer: ReturnType<typeof setTimeout> | undefined
  #lastSeen = 0
  #running = false
  #pinging = false
  #unsubscribe: (() => void) | null = null

  constructor(host: LivenessHost, options: LivenessOptions) {
    this.#host = host
    this.#options = options
  }

  /** Starts checking (after the connection is established). */
  start(): void {
    this.stop()
    this.#running = true
    this.#lastSeen = Date.now()
    this.#unsubscribe = this.#options.visibility?.subscribe(this.#onVisibility) ?? null
    this.#schedule(this.#options.interval)
  }

  /** Stops checking (the connection closed). */
  stop(): void {
    this.#running = false
    this.#pinging = false
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#unsubscribe?.()
    this.#unsubscribe = null
  }

  /** Records that something arrived from the server. */
  seen(): void {
    this.#lastSeen = Date.now()
  }

  /** Checks liveness now (also what becoming visible does). */
  check(): void {
    if (!this.#running || this.#pinging) return
    this.#pinging = true
    this.#host.ping(this.#options.timeout).then(this.#onPong, this.#onNoPong)
  }

  #hidden(): boolean {
    return this.#options.visibility?.hidden() ?? false
  }

  #schedule(delay: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = setTimeout(this.#tick, Math.max(0, delay))
  }

  #tick = (): void => {
    this.#timer = undefined
    if (!this.#running) return
    const interval = this.#options.interval
    const idle = Date.now() - this.#lastSeen
    if (idle >= interval) this.check()
    this.#schedule(idle >= interval ? interval : interval - idle)
  }

  #onPong = (): void => {
    this.#pinging = false
    this.seen()
  }

  #onNoPong = (): void => {
    this.#pinging = false
    if (!this.#running) return
    // A hidden tab's timers are throttled and its ping may simply not have been answered yet:
    // never drop the connection for that; the next visible check decides.
    if (this.#hidden()) return
    this.#host.dead()
  }

  #onVisibility = (hidden: boolean): void => {
    if (!hidden) this.check()
  }
}
