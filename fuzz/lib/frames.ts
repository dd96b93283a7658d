/** Builds client-to-server WebSocket frames (RFC 6455 §5.2), masked, for fuzz seeds and properties. */

export interface FrameSpec {
  fin: boolean
  /** RSV1-3 as the three bits 0b100 (RSV1), 0b010, 0b001. */
  rsv: number
  opcode: number
  payload: Uint8Array
  /** When false the MASK bit is clear (a protocol error from a client). */
  masked: boolean
  mask: number
  /** Force the 16- or 64-bit length form even when a shorter one fits (still valid). */
  lengthForm?: 7 | 16 | 64
}

/** The wire bytes of one frame. */
export function encodeFrame(f: FrameSpec): Buffer {
  const len = f.payload.length
  const form = f.lengthForm ?? (len < 126 ? 7 : len < 65536 ? 16 : 64)
  const useForm = form === 7 && len >= 126 ? 16 : form === 16 && len >= 65536 ? 64 : form
  const head = useForm === 7 ? 2 : useForm === 16 ? 4 : 10
  const out = Buffer.alloc(head + (f.masked ? 4 : 0) + len)
  out[0] = (f.fin ? 0x80 : 0) | ((f.rsv & 7) << 4) | (f.opcode & 0x0f)
  const maskBit = f.masked ? 0x80 : 0
  if (useForm === 7) out[1] = maskBit | len
  else if (useForm === 16) {
    out[1] = maskBit | 126
    out.writeUInt16BE(len, 2)
  } else {
    out[1] = maskBit | 127
    out.writeUInt32BE(0, 2)
    out.writeUInt32BE(len, 6)
  }
  let at = head
  if (f.masked) {
    out.writeUInt32BE(f.mask >>> 0, at)
    at += 4
    for (let i = 0; i < len; i++) out[at + i] = f.payload[i]! ^ out[head + (i & 3)]!
  } else out.set(f.payload, at)
  return out
}
