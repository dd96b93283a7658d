import { OP_BINARY, OP_CLOSE, OP_TEXT } from './constants.ts'

/** Payloads up to this size are copied behind their header into one buffer (one chunk to write). */
const COPY_LIMIT = 1024

/**
 * Frames one unmasked, unfragmented server frame (RFC 6455 §5.2: servers never mask, §5.7).
 * Returns one buffer for small payloads and `[header, payload]` for large ones so big payloads
 * are never copied. `rsv1` marks a compressed message (RFC 7692 §6).
 *
 * @example
 * frame(OP_TEXT, Buffer.from('hi'), false) // <Buffer 81 02 68 69>
 */
export function frame(opcode: number, payload: Uint8Array, rsv1: boolean): Buffer | Buffer[] {
  const len = payload.length
  // RFC 6455 §5.2: 7-bit length, or 126 + 16-bit, or 127 + 64-bit (minimal form).
  const headerLen = len < 126 ? 2 : len < 0x10000 ? 4 : 10
  const copy = len <= COPY_LIMIT
  const out = Buffer.allocUnsafe(copy ? headerLen + len : headerLen)
  out[0] = 0x80 | (rsv1 ? 0x40 : 0) | opcode // FIN always set: messages are sent in one frame
  if (headerLen === 2) {
    out[1] = len
  } else if (headerLen === 4) {
    out[1] = 126
    out.writeUInt16BE(len, 2)
  } else {
    out[1] = 127
    out.writeUInt32BE(Math.floor(len / 0x100000000), 2)
    out.writeUInt32BE(len >>> 0, 6)
  }
  if (copy) {
    out.set(payload, headerLen)
    return out
  }
  return [out, toBuffer(payload)]
}

/**
 * Frames a short string (at most 125 UTF-16 units, so at most 375 UTF-8 bytes) directly behind
 * its header: one allocation, no intermediate Buffer.
 */
export function frameString(opcode: number, text: string): Buffer {
  const len = Buffer.byteLength(text)
  const headerLen = len < 126 ? 2 : 4
  const out = Buffer.allocUnsafe(headerLen + len)
  out[0] = 0x80 | opcode
  if (headerLen === 2) out[1] = len
  else {
    out[1] = 126
    out.writeUInt16BE(len, 2)
  }
  out.write(text, headerLen)
  return out
}

/** Frames into one contiguous buffer (used when the same bytes go to many sockets). */
export function frameOne(opcode: number, payload: Uint8Array, rsv1: boolean): Buffer {
  const f = frame(opcode, payload, rsv1)
  return Array.isArray(f) ? Buffer.concat(f) : f
}

/** Builds a close frame payload: 2-byte code then the UTF-8 reason (RFC 6455 §5.5.1). */
export function closePayload(code: number | undefined, reason: string): Buffer {
  if (code === undefined) return Buffer.alloc(0)
  const reasonLen = Buffer.byteLength(reason)
  const buf = Buffer.allocUnsafe(2 + reasonLen)
  buf.writeUInt16BE(code, 0)
  buf.write(reason, 2)
  return buf
}

/** A whole close frame. */
export function closeFrame(code: number | undefined, reason: string): Buffer {
  return frameOne(OP_CLOSE, closePayload(code, reason), false)
}

/** Views a Uint8Array as a Buffer without copying. */
export function toBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
}

/**
 * A message framed once, to be written unchanged to many connections with `ws.sendPrepared()`.
 * Prepared messages are always sent uncompressed, even on connections that negotiated
 * permessage-deflate (RFC 7692 §6 lets each message choose), so the bytes stay shared.
 */
export interface PreparedMessage {
  /** The whole frame: header and payload. */
  readonly frame: Buffer
  /** The payload (a view into `frame`). */
  readonly data: Buffer
  readonly isBinary: boolean
}

/**
 * Frames a message once for a broadcast.
 *
 * @example
 * const p = prepareMessage(JSON.stringify({ type: 'tick' }), false)
 * for (const ws of room) ws.sendPrepared(p)
 */
export function prepareMessage(data: string | Uint8Array, isBinary?: boolean): PreparedMessage {
  const binary = isBinary ?? typeof data !== 'string'
  const payload = typeof data === 'string' ? Buffer.from(data) : data
  const f = frameOne(binary ? OP_BINARY : OP_TEXT, payload, false)
  return Object.freeze({ frame: f, data: f.subarray(f.length - payload.length), isBinary: binary })
}
