import type { Codec } from '../protocol/codec.ts'
import type { ClientCommand, ServerMessage } from '../protocol/messages.ts'
import type { TransportHandler } from './transport.ts'
import { type WebSocketConstructor, WebSocketTransport } from './transport-ws.ts'

/** The upgrade probe defaults; `docs/client.md` explains why these numbers. */
export const UPGRADE_PROBE_DEFAULTS = Object.freeze({ delay: 5_000, maxDelay: 300_000 })

/** Id of the probe's `connect` command (the probe has its own socket, so any id will do). */
const PROBE_ID = 1

/** The outcome of one probe, as the `probe` event reports it. */
export interface ProbeEvent {
  /** Whether WebSocket proved to work: the probe's `connect` got its reply. */
  readonly ok: boolean
  /** The probe socket's close code (1006 when it never opened; 1000 when it was closed by us). */
  readonly code: number
  readonly reason: string
  /** 1 for the first probe since the client last connected over WebSocket. */
  readonly attempt: number
  /** After a failure: the ceiling (ms) of the jittered wait before the next probe; else `null`. */
  readonly retryCeiling: number | null
}

/** What the probe needs from its client. */
export interface UpgradeProbeHost {
  /** The `connect` command to send (token, name, data), without its id. */
  connectCommand(): Promise<Omit<ClientCommand & { type: 'connect' }, 'id'>>
  /** One probe finished. After `ok: true` the probe is idle until `start()` again. */
  probed(event: ProbeEvent): void
}

/** Where and how often to probe. */
export interface UpgradeProbeOptions {
  readonly WebSocket: WebSocketConstructor
  readonly url: string
  readonly codec: Codec
  /** Ceiling of the first wait (ms). */
  readonly delay: number
  /** Largest ceiling (ms). */
  readonly maxDelay: number
  /** How long one probe may take to open and answer `connect` (ms). */
  readonly timeout: number
  readonly random: () => number
}

/**
 * Checks in the background whether WebSocket works again while the client runs over its SSE
 * fallback. A browser cannot tell "upgrade refused by a proxy" from "server down for a
 * restart", so a fallback taken during a restart would otherwise pin the client to SSE for good.
 *
 * Each probe waits a uniformly random time in `[0, min(maxDelay, delay · 2^n)]` (full jitter,
 * `n` = probes since the last WebSocket connection), then opens a WebSocket with the client's
 * subprotocol and sends `connect`. It counts as good only when the `connect` reply arrives: a
 * proxy that accepts the upgrade and then cuts the connection does not pass. The probe socket is
 * always closed (1000) when the probe ends. One timer at a time: the wait, then the probe's
 * timeout.
 *
 * @example
 * const probe = new UpgradeProbe(host, { WebSocket, url, codec: jsonCodec, delay: 5000,
 *   maxDelay: 300_000, timeout: 10_000, random: Math.random })
 * probe.start()   // while connected over the SSE fallback
 * probe.stop()    // connection lost, disconnect(), or moved to WebSocket
 */
export class UpgradeProbe {
  readonly #host: UpgradeProbeHost
  readonly #o: UpgradeProbeOptions
  readonly #handler: TransportHandler
  #timer: ReturnType<typeof setTimeout> | undefined
  #socket: WebSocketTransport | null = null
  #attempts = 0

  constructor(host: UpgradeProbeHost, options: UpgradeProbeOptions) {
    this.#host = host
    this.#o = options
    this.#handler = {
      onOpen: () => this.#onOpen(),
      onMessage: (message) => this.#onMessage(message),
      onClose: (code, reason) => {
        this.#socket = null // the transport detached itself
        this.#finish(false, code, reason || 'probe socket closed')
      },
    }
  }

  /** Whether a wait or a probe is under way. */
  get active(): boolean {
    return this.#timer !== undefined || this.#socket !== null
  }

  /** Whether a probe socket exists right now. */
  get probing(): boolean {
    return this.#socket !== null
  }

  /** Probes made since the last {@link reset}. */
  get attempts(): number {
    return this.#attempts
  }

  /** The ceiling (ms) of the wait before the next probe: `min(maxDelay, delay · 2^attempts)`. */
  ceiling(): number {
    return Math.min(this.#o.maxDelay, this.#o.delay * 2 ** Math.min(this.#attempts, 40))
  }

  /** Schedules the next probe unless one is already waiting or running. */
  start(): void {
    if (this.active) return
    const wait = Math.floor(this.#o.random() * this.ceiling())
    this.#timer = setTimeout(this.#run, wait)
  }

  /** Cancels the wait, or closes the probe socket (1000) without reporting. */
  stop(): void {
    this.#end('probe stopped')
  }

  /** Starts the delays again from the first ceiling (the client connected over WebSocket). */
  reset(): void {
    this.#attempts = 0
  }

  #run = (): void => {
    this.#timer = undefined
    this.#attempts++
    try {
      this.#socket = new WebSocketTransport(
        this.#o.WebSocket,
        this.#o.url,
        this.#o.codec,
        this.#handler,
      )
    } catch (error) {
      this.#finish(false, 1006, String(error))
      return
    }
    this.#timer = setTimeout(this.#onTimeout, this.#o.timeout)
  }

  #onTimeout = (): void => {
    this.#timer = undefined
    this.#finish(false, 1006, `no connect reply within ${this.#o.timeout} ms`)
  }

  #onOpen(): void {
    const socket = this.#socket
    this.#host.connectCommand().then(
      (command) => {
        if (this.#socket === socket && socket !== null) {
          socket.send({ ...command, id: PROBE_ID } as ClientCommand)
        }
      },
      (error: unknown) => {
        if (this.#socket === socket) this.#finish(false, 1006, `token failed: ${String(error)}`)
      },
    )
  }

  #onMessage(message: ServerMessage): void {
    const m = message as { id?: unknown; type?: unknown; error?: { code?: unknown } }
    if (m.id !== PROBE_ID || m.type !== undefined) return // pushes are not the answer
    if (m.error !== undefined) this.#finish(false, 1000, `connect refused: ${String(m.error.code)}`)
    else this.#finish(true, 1000, 'connect answered')
  }

  #end(reason: string): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    const socket = this.#socket
    this.#socket = null
    socket?.close(1000, reason)
  }

  #finish(ok: boolean, code: number, reason: string): void {
    this.#end(ok ? 'probe done' : 'probe failed')
    const attempt = this.#attempts
    if (!ok) this.start()
    this.#host.probed({
      ok,
      code,
      reason,
      attempt,
      retryCeiling: ok ? null : this.ceiling(),
    })
  }
}
