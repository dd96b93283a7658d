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
  /** `sendPrepared` written at once (the hub calls it from its end-of-turn pass). */
  writePrepared?(prepared: never): number
  /** Writes several frames' `native` forms at once, in one write (the ws layer joins them once
   * per array; the hub calls it from its end-of-turn pass). */
  writePreparedBatch?(prepared: never): number
  /** Writes what is queued now rather than at the connection's own end-of-turn flush. */
  flushNow?(): void
  /** Bytes accepted by `send` but not yet taken by the kernel (counted against the outbox limit). */
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
  readonly connection: FrameSink | undefined = undefined
  /** Set when the connection can send a batch in one write: sessions then share per-turn frames. */
  readonly sharedBatches: boolean

  constructor(ws: WsConnectionLike, format: WireFormat) {
    this.#ws = ws
    this.format = format
    this.#binary = format.codec.binary
    if (typeof ws.bufferedAmount === 'number') this.connection = ws as FrameSink
    this.sharedBatches = ws.writePreparedBatch !== undefined
  }

  write(frames: readonly Frame[]): boolean {
    const ws = this.#ws
    if (frames.length === 1 && ws.writePrepared !== undefined) {
      const native = frames[0]!.native
      if (native !== undefined) return ws.writePrepared(native as never) === 0
    }
    if (frames.length > 1 && ws.writePreparedBatch !== undefined) {
      const natives = nativesOf(frames)
      if (natives !== null) return ws.writePreparedBatch(natives as never) === 0
    }
    let status = 0
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!
      status =
        f.native !== undefined && ws.sendPrepared !== undefined
          ? ws.sendPrepared(f.native as never)
          : ws.send(f.data, this.#binary)
      if (status === 2) {
        ws.flushNow?.()
        return false
      }
    }
    ws.flushNow?.()
    return status === 0
  }

  close(code: number, reason: string): void {
    this.#ws.close(code, closeReason(reason))
  }
}

// The natives of the last frames made into a batch. Sessions following one channel turn are
// handed the same array, and sessions whose outboxes queued the same frames hold equal ones; either
// way they get the same natives array, which the ws layer joins once.
let nativeSource: readonly Frame[] = []
let nativeLength = 0
let nativeBatch: unknown[] | null = null

/** The frames' `native` forms, or null when one has none. */
function nativesOf(frames: readonly Frame[]): unknown[] | null {
  const n = frames.length
  if (n === nativeLength && (frames === nativeSource || sameFrames(frames, nativeSource, n))) {
    return nativeBatch
  }
  const out: unknown[] = []
  for (let i = 0; i < frames.length; i++) {
    const native = frames[i]!.native
    if (native === undefined) return null
    out.push(native)
  }
  nativeSource = frames
  nativeLength = n
  nativeBatch = out
  return out
}

function sameFrames(a: readonly Frame[], b: readonly Frame[], n: number): boolean {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false
  return true
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
