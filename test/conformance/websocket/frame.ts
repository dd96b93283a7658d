/**
 * Client-side WebSocket framing for the conformance suite (RFC 6455 §5.2): builds masked client
 * frames with any flags, opcode and announced length (including wrong ones), and parses the
 * frames a server sends back. Deliberately independent of src/ws so the suite is a black box.
 *
 * @example
 * const bytes = encodeFrame({ opcode: Opcode.text, payload: 'hi' })
 * const reader = new FrameReader(); reader.push(bytes); reader.next()
 */
import { randomBytes } from 'node:crypto'

export const Opcode = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const

/** RSV bit values as they sit in the 3-bit field: RSV1 = 4, RSV2 = 2, RSV3 = 1. */
export const Rsv = { rsv1: 4, rsv2: 2, rsv3: 1 } as const

export interface FrameSpec {
  opcode: number
  payload?: Uint8Array | string
  /** Default true. */
  fin?: boolean
  /** 3-bit RSV field (see `Rsv`). Default 0. */
  rsv?: number
  /** Client frames are masked unless this is false (RFC 6455 §5.3). */
  masked?: boolean
  maskKey?: Uint8Array
  /** Announced payload length, when it must differ from the payload actually appended. */
  length?: number | bigint
  /** Force the 7-bit (0), 16-bit (2) or 64-bit (8) length encoding. */
  lengthBytes?: 0 | 2 | 8
}

export function toBytes(data: Uint8Array | string | undefined): Buffer {
  if (data === undefined) return Buffer.alloc(0)
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data)
}

/** Encodes one client frame. The payload is masked with `maskKey` (random when absent). */
export function encodeFrame(spec: FrameSpec): Buffer {
  const payload = toBytes(spec.payload)
  const announced = BigInt(spec.length ?? payload.length)
  const masked = spec.masked ?? true
  const lengthBytes =
    spec.lengthBytes ?? (announced > 65535n ? 8 : announced > 125n ? 2 : (0 as 0 | 2 | 8))
  const header = Buffer.alloc(2 + lengthBytes + (masked ? 4 : 0))
  header[0] = ((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | (spec.opcode & 0x0f)
  const maskBit = masked ? 0x80 : 0
  if (lengthBytes === 0) header[1] = maskBit | Number(announced)
  else if (lengthBytes === 2) {
    header[1] = maskBit | 126
    header.writeUInt16BE(Number(announced), 2)
  } else {
    header[1] = maskBit | 127
    header.writeBigUInt64BE(announced, 2)
  }
  if (!masked) return Buffer.concat([header, payload])
  const key = spec.maskKey ?? randomBytes(4)
  header.set(key, 2 + lengthBytes)
  const body = Buffer.allocUnsafe(payload.length)
  for (let i = 0; i < payload.length; i++) body[i] = payload[i]! ^ key[i & 3]!
  return Buffer.concat([header, body])
}

/** A close frame payload: 2-byte code and reason, or a raw payload when `code` is a buffer. */
export function closePayload(code?: number, reason: Uint8Array | string = ''): Buffer {
  if (code === undefined) return Buffer.alloc(0)
  const r = toBytes(reason)
  const out = Buffer.alloc(2 + r.length)
  out.writeUInt16BE(code, 0)
  out.set(r, 2)
  return out
}

export interface ServerFrame {
  fin: boolean
  rsv: number
  opcode: number
  masked: boolean
  payload: Buffer
}

/** Incremental parser for server frames; `next()` returns null until a frame is complete. */
export class FrameReader {
  private chunks: Buffer[] = []
  private size = 0
  /** Largest payload accepted from a server before the reader gives up (protects the suite). */
  constructor(private readonly maxPayload = 64 * 1024 * 1024) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return
    this.chunks.push(chunk)
    this.size += chunk.length
  }

  get buffered(): number {
    return this.size
  }

  next(): ServerFrame | null {
    if (this.size < 2) return null
    const head = this.peek(Math.min(this.size, 14))
    const b0 = head[0]!
    const b1 = head[1]!
    const masked = (b1 & 0x80) !== 0
    let len = b1 & 0x7f
    let offset = 2
    if (len === 126) {
      if (head.length < 4) return null
      len = head.readUInt16BE(2)
      offset = 4
    } else if (len === 127) {
      if (head.length < 10) return null
      const big = head.readBigUInt64BE(2)
      if (big > BigInt(this.maxPayload)) throw new Error(`server frame announces ${big} bytes`)
      len = Number(big)
      offset = 10
    }
    const maskOffset = offset
    if (masked) offset += 4
    if (this.size < offset + len) return null
    const all = this.take(offset + len)
    const payload = Buffer.from(all.subarray(offset))
    if (masked) {
      const key = all.subarray(maskOffset, maskOffset + 4)
      for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ key[i & 3]!
    }
    return { fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, payload }
  }

  /** The first `n` bytes (n ≤ 14, a frame header), copying at most that much. */
  private peek(n: number): Buffer {
    const first = this.chunks[0]!
    if (first.length >= n) return first.subarray(0, n)
    const out = Buffer.alloc(n)
    let filled = 0
    for (const c of this.chunks) {
      if (filled >= n) break
      filled += c.copy(out, filled, 0, Math.min(c.length, n - filled))
    }
    return out
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!
    if (first.length === n) {
      this.chunks.shift()
      this.size -= n
      return first
    }
    if (first.length > n) {
      this.chunks[0] = first.subarray(n)
      this.size -= n
      return first.subarray(0, n)
    }
    const out = Buffer.allocUnsafe(n)
    let filled = 0
    let used = 0
    while (filled < n) {
      const c = this.chunks[used]!
      const k = Math.min(c.length, n - filled)
      c.copy(out, filled, 0, k)
      filled += k
      if (k === c.length) used++
      else this.chunks[used] = c.subarray(k)
    }
    this.chunks.splice(0, used)
    this.size -= n
    return out
  }
}

/** Close codes an endpoint may put on the wire (RFC 6455 §7.4.1, IANA registry, 3000–4999). */
export function isSendableCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  )
}

const fatal = new TextDecoder('utf-8', { fatal: true })

export function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    fatal.decode(bytes)
    return true
  } catch {
    return false
  }
}
