import type { RefreshResult } from '../protocol/messages.ts'
import { ClientError, ClientErrorCode } from './errors.ts'
import { type ClientOptions, resolveToken } from './options.ts'
import type { QueuedCommand } from './outbox.ts'
import type { ClientTransport } from './transport.ts'
import { SseTransport } from './transport-sse.ts'

/** What {@link CredentialRefresh} needs from its connection. */
export interface CredentialRefreshHost {
  /** Changes whenever the transport is replaced: a refresh started under an older one is dropped. */
  generation(): number
  /** The transport in use, or `null`. */
  transport(): ClientTransport | null
  /** The SSE stream's session (`client`: its id, from its `connected` push), or `null` before
   * that push arrives. */
  session(): { readonly client: string } | null
  /** Sends a command on the live transport now; rejects when not connected. */
  request(command: QueuedCommand, timeout: number): Promise<unknown>
  /** A refresh failed for another reason than the connection's loss. */
  error(error: ClientError): void
}

/** The credential to refresh and the reply timeout of `refresh` (ms). */
export interface CredentialRefreshOptions {
  readonly token: ClientOptions['token']
  readonly timeout: number
}

/**
 * Sends `refresh` with a new token before the credential expires (at 80% of `ttl`), when the
 * token is a function. Over SSE it is POSTed with the stream's session id (`client`, from the
 * `connected` push), and later POSTs carry the new token. If it fails, the server disconnects
 * with 3002 at expiry and the client reconnects with a fresh token anyway. One timer at a time.
 *
 * @example
 * const refresh = new CredentialRefresh(host, { token: () => getToken(), timeout: 10_000 })
 * refresh.schedule(connectResult.ttl) // on connect; refresh.cancel() when the connection is lost
 */
export class CredentialRefresh {
  readonly #host: CredentialRefreshHost
  readonly #options: CredentialRefreshOptions
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(host: CredentialRefreshHost, options: CredentialRefreshOptions) {
    this.#host = host
    this.#options = options
  }

  /** (Re)starts the timer for a credential valid `ttl` seconds; none without a ttl or when the
   * token is not a function. */
  schedule(ttl: number | undefined): void {
    this.cancel()
    if (typeof ttl !== 'number' || !(ttl > 0) || typeof this.#options.token !== 'function') return
    const delay = Math.min(0x7fffffff, Math.max(50, ttl * 800))
    this.#timer = setTimeout(this.#refresh, delay)
  }

  /** Stops the timer (the connection was lost). */
  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #refresh = (): void => {
    this.#timer = undefined
    const host = this.#host
    const generation = host.generation()
    resolveToken(this.#options.token)
      .then((token) => {
        if (token === undefined || generation !== host.generation()) return
        const transport = host.transport()
        let command: QueuedCommand = { type: 'refresh', token }
        if (transport instanceof SseTransport) {
          // No session yet (a stream being reopened): its `connected` push schedules again.
          const session = host.session()
          if (session === null) return
          command = { type: 'refresh', token, client: session.client }
        }
        return host.request(command, this.#options.timeout).then((r) => {
          if (generation !== host.generation()) return
          if (transport instanceof SseTransport) transport.useToken(token)
          this.schedule((r as RefreshResult).ttl)
        })
      })
      .catch((error: unknown) => {
        if (error instanceof ClientError && error.code !== ClientErrorCode.DISCONNECTED) {
          this.#host.error(error)
        }
      })
  }
}
