import type { ClientCommand, ServerMessage } from '../protocol/messages.ts'
import type { StreamRefusal } from './stream-refusal.ts'

/** Names of the client's transports. */
export type TransportName = 'websocket' | 'sse'

/** What a transport reports to the client. Each transport calls `onClose` exactly once. */
export interface TransportHandler {
  /** The transport is open and commands may be sent. */
  onOpen(): void
  /** One decoded server message. */
  onMessage(message: ServerMessage): void
  /**
   * The transport is gone. `code` is the WebSocket close code (1006 for a network loss) or a
   * disconnect code; `opened` says whether `onOpen` ran, `received` whether any message arrived.
   * `refusal`: an SSE stream the server refused before it opened, with its coded answer.
   */
  onClose(
    code: number,
    reason: string,
    opened: boolean,
    received: boolean,
    refusal?: StreamRefusal,
  ): void
}

/** A channel the SSE stream must carry, with the position to resume from. */
export interface StreamChannel {
  readonly channel: string
  readonly since?: { readonly offset: number; readonly epoch: string } | undefined
}

/**
 * The client's side of a connection. A WebSocket transport carries commands and pushes on one
 * socket; the SSE transport reads pushes from an `EventSource` and sends commands as HTTP POSTs.
 *
 * @example
 * transport.send({ id: 1, type: 'ping' })
 */
export interface ClientTransport {
  readonly name: TransportName
  /** Sends one command (its reply arrives through `onMessage`). */
  send(command: ClientCommand): void
  /** Closes without reporting `onClose` (the client initiated it). */
  close(code: number, reason: string): void
}

/** Close code reported when the network dropped (RFC 6455 §7.4.1: 1006, abnormal closure). */
export const ABNORMAL_CLOSURE = 1006
