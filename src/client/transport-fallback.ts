import { isDisconnectCode } from '../protocol/codes.ts'
import { jsonCodec } from '../protocol/json.ts'
import type { DisconnectPush } from '../protocol/messages.ts'
import { StateCode } from './client-events.ts'
import {
  type ClientOptions,
  type ResolvedOptions,
  sseParts,
  webSocketConstructor,
} from './options.ts'
import type { TransportName } from './transport.ts'
import { UpgradeProbe, type UpgradeProbeHost } from './upgrade-probe.ts'

/**
 * Which transport the client's next attempt uses under `transport: 'auto'`: WebSocket first, SSE
 * when WebSocket cannot work, and back to WebSocket once a background {@link UpgradeProbe} shows
 * it works again. It keeps the evidence (whether WebSocket ever worked, failures in a row, whether
 * the current attempt is a fallback) and the probe; the connection acts on its answers.
 *
 * @example
 * const fallback = new TransportFallback(probeHost, options, resolveOptions(options))
 * if (fallback.closed('websocket', 1006, null, false)) openSse()
 */
export class TransportFallback {
  readonly #host: UpgradeProbeHost
  readonly #options: ClientOptions
  readonly #o: ResolvedOptions
  /** WebSocket failed while SSE worked: stay on SSE (until an upgrade probe succeeds). */
  #sseSticky = false
  /** Created on the first SSE fallback that has a WebSocket constructor to probe with. */
  #probe: UpgradeProbe | null = null
  /** WebSocket connected at least once in this client's life. */
  #wsWorked = false
  /** WebSocket attempts in a row that failed before any message (reset by a WebSocket connect). */
  #wsFailures = 0
  /** The current attempt is an SSE fallback right after a WebSocket failure. */
  #fallingBack = false

  /** `host`: the probe's (its `connect` command, and where each probe's outcome goes). */
  constructor(host: UpgradeProbeHost, options: ClientOptions, resolved: ResolvedOptions) {
    this.#host = host
    this.#options = options
    this.#o = resolved
  }

  /** Whether the next attempt opens SSE: `transport: 'sse'`, or `'auto'` stuck on its fallback. */
  useSse(): boolean {
    const mode = this.#o.transport
    return mode === 'sse' || (mode === 'auto' && this.#sseSticky)
  }

  /** `'auto'` found no WebSocket constructor: this attempt is an SSE fallback. */
  unavailable(): void {
    this.#fallingBack = true
  }

  /** An SSE stream opened: after a WebSocket failure, the client stays on SSE. */
  sseOpened(): void {
    if (this.#fallingBack) this.#sseSticky = true
    this.#fallingBack = false
  }

  /** Connected: over WebSocket, it works (a later fallback probes from the first delay); over
   * the SSE fallback of `'auto'`, WebSocket is probed in the background. */
  connected(websocket: boolean): void {
    if (websocket) {
      this.#wsWorked = true
      this.#wsFailures = 0
      this.#probe?.reset() // WebSocket works: a later fallback probes from the first delay
    } else if (this.#sseSticky && this.#o.transport === 'auto') this.#startProbe()
  }

  /**
   * A transport closed (`server`: the `disconnect` push that closed it, if any): whether the
   * client falls back to SSE at once. A WebSocket that never opened, or that a proxy cut before
   * the first message, is the symptom SSE exists for; try it at once (same attempt, no backoff).
   * Once WebSocket has worked for this client, one such failure is most likely the server
   * restarting (it refuses connections for a moment), so the fallback waits for a second failure
   * in a row: otherwise a server that comes back between the two attempts would pin the client to
   * SSE.
   */
  closed(
    name: TransportName,
    code: number,
    server: DisconnectPush | null,
    received: boolean,
  ): boolean {
    const wsFailed =
      name === 'websocket' &&
      server === null &&
      !isDisconnectCode(code) &&
      code !== StateCode.CONNECT_FAILED &&
      !received
    if (wsFailed) this.#wsFailures++
    // Without EventSource (Node given only a WebSocket constructor) there is nothing to fall back
    // to: the failed WebSocket is retried with backoff like any lost connection.
    const fallback =
      wsFailed &&
      this.#o.transport === 'auto' &&
      (!this.#wsWorked || this.#wsFailures >= 2) &&
      sseParts(this.#options) !== null
    if (fallback) {
      this.#fallingBack = true
      return true
    }
    if (name === 'sse' && this.#fallingBack) {
      // SSE failed too: the server is probably down, not the WebSocket path; next time, WebSocket.
      this.#fallingBack = false
    }
    return false
  }

  /** A probe proved WebSocket works: the client leaves SSE, so the evidence against it goes. */
  upgraded(): void {
    this.#sseSticky = false
    this.#fallingBack = false
    this.#probe?.stop()
  }

  /** Stops the probe in progress, if any (the connection closed or left SSE). */
  stopProbe(): void {
    this.#probe?.stop()
  }

  /** Starts probing WebSocket in the background (connected over the SSE fallback). */
  #startProbe(): void {
    if (this.#probe === null) {
      const WS = webSocketConstructor(this.#options)
      if (WS === undefined) return // 'websocket-unavailable': nothing to probe with
      this.#probe = new UpgradeProbe(this.#host, {
        WebSocket: WS,
        url: this.#o.wsUrl,
        codec: this.#options.codec ?? jsonCodec,
        delay: this.#o.upgradeProbeDelay,
        maxDelay: this.#o.maxUpgradeProbeDelay,
        timeout: this.#o.timeout,
        random: this.#options.random ?? Math.random,
      })
    }
    this.#probe.start()
  }
}
