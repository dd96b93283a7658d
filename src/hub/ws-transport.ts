import { JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL } from '../protocol/index.ts'
import {
  type Frame,
  type FrameSink,
  type Transport,
  utf8Length,
  type WireFormat,
  wsJsonFormat,
  wsMsgpackFormat,
} from './transport.ts'

/**
 * What the hub needs of a WebSocket connection (the ws layer's `ServerWebSocket` fits):
 * `send` and `sendPrepared` return 0 (sent), 1 (buffered: wait for drain) or 2 (dropped).
 */
export interface WsConnectionLike {
  send(data: string | Uint8Array, isBinary?: boolean): number
  sendPrepared?(prepared: never): number
  /** Bytes accepted by `send` but not yet taken by the kernel (enables the direct path). */
  readonly bufferedAmount?: number
  close(code?: number, reason?: string): void
}

/** The subprotocols of protocol v1, in server preference order. */
export const SUBPROTOCOLS: readonly string[] = [MSGPACK_SUBPROTOCOL, JSON_SUBPROTOCOL]

/**
 * The wire format a negotiated subprotocol selects: `switchboard.v1.msgpack` → MessagePack
 * binary frames, `switchboard.v1.json` or none → JSON text frames; anything else → `null`.
 *
 * @example
 * const format = wireFormatFor(ws.protocol) ?? wsJsonFormat
 */
export function wireFormatFor(
  subprotocol: string | null | undefined,
  formats: { json: WireFormat; msgpack: WireFormat } = {
    json: wsJsonFormat,
    msgpack: wsMsgpackFormat,
  },
): WireFormat | null {
  if (subprotocol === undefined || subprotocol === null || subprotocol === '') return formats.json
  if (subprotocol === JSON_SUBPROTOCOL) return formats.json
  if (subprotocol === MSGPACK_SUBPROTOCOL) return formats.msgpack
  return null
}

/**
 * A hub {@link Transport} over a WebSocket connection. The ws `message` hook calls
 * `session.receive(data)`, `drain` calls `session.drain()`, `close` calls `session.closed()`.
 *
 * @example
 * open(ws) { ws.data.session = hub.connect(new WsTransport(ws, wireFormatFor(ws.protocol)!)) }
 */
export class WsTransport implements Transport {
  readonly format: WireFormat
  readonly #ws: WsConnectionLike
  readonly #binary: boolean
  readonly direct: FrameSink | undefined = undefined

  constructor(ws: WsConnectionLike, format: WireFormat) {
    this.#ws = ws
    this.format = format
    this.#binary = format.codec.binary
    // A connection that cannot tell its buffered bytes keeps the queued path.
    if (typeof ws.bufferedAmount === 'number') this.direct = ws as FrameSink
  }

  write(frames: readonly Frame[]): boolean {
    const ws = this.#ws
    let status = 0
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!
      status =
        f.native !== undefined && ws.sendPrepared !== undefined
          ? ws.sendPrepared(f.native as never)
          : ws.send(f.data, this.#binary)
      if (status === 2) return false
    }
    return status === 0
  }

  close(code: number, reason: string): void {
    this.#ws.close(code, closeReason(reason))
  }
}

/** A close reason cut to the 123 bytes a close frame can carry (RFC 6455 §5.5), whole
 * characters only; the full reason still travels in the `disconnect` push. */
export function closeReason(reason: string): string {
  if (utf8Length(reason) <= 123) return reason
  let out = ''
  for (const ch of reason) {
    if (utf8Length(out + ch) > 123) break
    out += ch
  }
  return out
}
