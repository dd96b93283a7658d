import type { WsErrorCode } from '../errors/ws.ts'
import {
  MAX_CONTROL_PAYLOAD,
  OP_BINARY,
  OP_CLOSE,
  OP_CONTINUATION,
  OP_PING,
  OP_PONG,
  OP_TEXT,
} from './constants.ts'
import { UTF8_INVALID, UTF8_START, utf8Done, utf8Step } from './utf8.ts'

/** What a `Receiver` reports. The connection implements it; tests collect the calls. */
export interface ReceiverSink {
  onMessage(data: Buffer, isBinary: boolean): void
  onPing(data: Buffer): void
  onPong(data: Buffer): void
  /** A valid close frame arrived; `code` is 1005 when it carried none. Nothing is parsed after it. */
  onClose(code: number, reason: string): void
  /** The peer broke the protocol; close with the error's close code. Nothing is parsed after it. */
  onError(code: WsErrorCode, message: string): void
  /**
   * A frame of a compressed message (RFC 7692 §6.2). Inflate `data` (appending the 00 00 ff ff
   * tail when `fin`), failing with SWB_ERR_WS_MESSAGE_TOO_BIG past `limit` inflated bytes, then
   * call `receiver.inflated(bytes)`; the receiver parses nothing until then.
   */
  onInflate(data: Buffer, fin: boolean, limit: number): void
}

/** Limits a receiver enforces; usually the route's frozen options object, shared by reference. */
export interface ReceiverLimits {
  /** Largest message (after inflating), in bytes. */
  readonly maxPayload: number
  /** Most frames one message may be split into. */
  readonly maxFragments: number
}

// Parser states (integers; one small method per state).
const HEADER = 0
const LENGTH_16 = 1
const LENGTH_64 = 2
const MASK = 3
const PAYLOAD = 4
const INFLATING = 5
const STOPPED = 6

/** Buffered views of one message are merged into one buffer past this many parts. */
const MAX_PARTS = 128

const SCRATCH = Buffer.allocUnsafe(16)
// Results of `take()`: where the requested header bytes are (module-level: parsing is synchronous).
let tBuf: Buffer = SCRATCH
let tPos = 0

const EMPTY = Buffer.alloc(0)

/**
 * The RFC 6455 frame parser: an IO-free state machine. Feed it byte chunks in any split with
 * `push()`; it reports messages, control frames and protocol errors to its sink. It unmasks in
 * place, so it owns the chunks it is given, and it returns views, not copies, where it can.
 *
 * @example
 * const r = new Receiver(sink, { maxPayload: 1 << 20, maxFragments: 1024 }, false)
 * r.push(Buffer.from('818537fa213d7f9f4d5158', 'hex')) // sink.onMessage(<'Hello'>, false)
 */
export class Receiver {
  private readonly sink: ReceiverSink
  private readonly limits: ReceiverLimits
  /** Whether permessage-deflate was negotiated (RSV1 allowed on a message's first frame). */
  private readonly deflate: boolean

  private queue: Buffer[] | null = null // allocated while bytes wait, so idle receivers hold none
  private offset = 0 // read position in queue[0]
  private queued = 0 // unread bytes in the queue
  private state = HEADER

  // The frame being read.
  private fin = false
  private opcode = 0
  private mask = 0
  private frameLength = 0
  private frameRead = 0
  private parts: Buffer[] | null = null // control frame or compressed frame payload

  // The message being assembled.
  private messageOpcode = 0 // 0: none in progress
  private compressed = false
  private fragments: Buffer[] | null = null
  private messageLength = 0
  private frameCount = 0
  private utf8 = UTF8_START

  constructor(sink: ReceiverSink, limits: ReceiverLimits, deflate: boolean) {
    this.sink = sink
    this.limits = limits
    this.deflate = deflate
  }

  /** Bytes received but not parsed yet (waiting for more, or for an inflate to finish). */
  get pending(): number {
    return this.queued
  }

  /** Whether the receiver waits for `inflated()`. */
  get inflating(): boolean {
    return this.state === INFLATING
  }

  /** Feeds bytes. The receiver takes ownership of `chunk` (payloads are unmasked in place). */
  push(chunk: Buffer): void {
    if (this.state === STOPPED || chunk.length === 0) return
    if (this.queue === null) this.queue = [chunk]
    else this.queue.push(chunk)
    this.queued += chunk.length
    if (this.state !== INFLATING) this.run()
  }

  /** Stops parsing for good and drops what is buffered. */
  stop(): void {
    this.state = STOPPED
    this.queue = null
    this.queued = 0
    this.offset = 0
    this.fragments = null
    this.parts = null
  }

  /** Resumes after `sink.onInflate()` with the inflated bytes of that frame. */
  inflated(data: Buffer): void {
    if (this.state !== INFLATING) return
    this.state = HEADER
    if (!this.addToMessage(data)) return
    if (this.fin) this.endMessage()
    this.run()
  }

  private run(): void {
    for (;;) {
      switch (this.state) {
        case HEADER:
          if (!this.readHeader()) return
          break
        case LENGTH_16:
          if (!this.readLength16()) return
          break
        case LENGTH_64:
          if (!this.readLength64()) return
          break
        case MASK:
          if (!this.readMask()) return
          break
        case PAYLOAD:
          if (!this.readPayload()) return
          break
        default:
          return // INFLATING or STOPPED
      }
    }
  }

  /** Makes `n` header bytes available at `tBuf[tPos]`, or returns false to wait for more. */
  private take(n: number): boolean {
    if (this.queued < n) return false
    const queue = this.queue!
    const first = queue[0]!
    if (first.length - this.offset >= n) {
      tBuf = first
      tPos = this.offset
      this.offset += n
      if (this.offset === first.length) this.dropFirst()
    } else {
      for (let i = 0; i < n; i++) {
        const c = this.queue![0]!
        SCRATCH[i] = c[this.offset++]!
        if (this.offset === c.length) this.dropFirst()
      }
      tBuf = SCRATCH
      tPos = 0
    }
    this.queued -= n
    return true
  }

  /** Removes the fully read first chunk; the queue is released when it empties. */
  private dropFirst(): void {
    const q = this.queue!
    if (q.length === 1) this.queue = null
    else q.shift()
    this.offset = 0
  }

  /** RFC 6455 §5.2: FIN, RSV1-3, opcode, MASK and the 7-bit length. */
  private readHeader(): boolean {
    if (!this.take(2)) return false
    const b0 = tBuf[tPos]!
    const b1 = tBuf[tPos + 1]!
    const opcode = b0 & 0x0f
    const fin = (b0 & 0x80) !== 0
    const rsv1 = (b0 & 0x40) !== 0
    const len = b1 & 0x7f
    // RFC 6455 §5.2: RSV2/RSV3 must be 0 (no extension we support defines them).
    if ((b0 & 0x30) !== 0)
      return this.fail('SWB_ERR_WS_RESERVED_BITS', 'RSV2 and RSV3 must be clear')
    if (opcode >= 0x8) {
      // RFC 6455 §5.5: control frames are 8 (close), 9 (ping), 10 (pong); 11-15 are reserved.
      if (opcode > OP_PONG)
        return this.fail('SWB_ERR_WS_RESERVED_OPCODE', `reserved opcode ${opcode}`)
      // RFC 6455 §5.5: control frames must not be fragmented and carry at most 125 bytes.
      if (!fin) return this.fail('SWB_ERR_WS_CONTROL_FRAME', 'fragmented control frame')
      if (len > MAX_CONTROL_PAYLOAD)
        return this.fail('SWB_ERR_WS_CONTROL_FRAME', 'control frame over 125 bytes')
      // RFC 7692 §6: RSV1 is only for data messages.
      if (rsv1) return this.fail('SWB_ERR_WS_RESERVED_BITS', 'RSV1 set on a control frame')
    } else if (opcode === OP_CONTINUATION) {
      // RFC 6455 §5.4: a continuation frame needs a fragmented message in progress.
      if (this.messageOpcode === 0)
        return this.fail(
          'SWB_ERR_WS_CONTINUATION',
          'continuation frame without a message to continue',
        )
      // RFC 7692 §6.1: RSV1 only on the first frame of a message.
      if (rsv1) return this.fail('SWB_ERR_WS_RESERVED_BITS', 'RSV1 set on a continuation frame')
    } else if (opcode === OP_TEXT || opcode === OP_BINARY) {
      // RFC 6455 §5.4: a new data message cannot start inside a fragmented one.
      if (this.messageOpcode !== 0)
        return this.fail(
          'SWB_ERR_WS_CONTINUATION',
          'new data frame while a fragmented message is incomplete',
        )
      // RFC 6455 §5.2 / RFC 7692 §6: RSV1 only when permessage-deflate was negotiated.
      if (rsv1 && !this.deflate)
        return this.fail('SWB_ERR_WS_RESERVED_BITS', 'RSV1 set without a negotiated extension')
      this.messageOpcode = opcode
      this.compressed = rsv1
      this.messageLength = 0
      this.frameCount = 0
      this.utf8 = UTF8_START
    } else {
      // RFC 6455 §5.2: opcodes 3-7 are reserved for further non-control frames.
      return this.fail('SWB_ERR_WS_RESERVED_OPCODE', `reserved opcode ${opcode}`)
    }
    // RFC 6455 §5.1: a client must mask every frame it sends.
    if ((b1 & 0x80) === 0)
      return this.fail('SWB_ERR_WS_UNMASKED_FRAME', 'client frames must be masked')
    this.fin = fin
    this.opcode = opcode
    if (opcode < 0x8 && ++this.frameCount > this.limits.maxFragments) {
      return this.fail(
        'SWB_ERR_WS_TOO_MANY_FRAGMENTS',
        `more than ${this.limits.maxFragments} frames in one message`,
      )
    }
    if (len === 126) this.state = LENGTH_16
    else if (len === 127) this.state = LENGTH_64
    else return this.haveLength(len)
    return true
  }

  /** RFC 6455 §5.2: 126 means a 16-bit length follows. */
  private readLength16(): boolean {
    if (!this.take(2)) return false
    return this.haveLength(tBuf.readUInt16BE(tPos))
  }

  /** RFC 6455 §5.2: 127 means a 64-bit length follows, whose most significant bit must be 0. */
  private readLength64(): boolean {
    if (!this.take(8)) return false
    const hi = tBuf.readUInt32BE(tPos)
    if (hi & 0x80000000)
      return this.fail('SWB_ERR_WS_FRAME_LENGTH', '64-bit length with the top bit set')
    // Anything at or past 2^53 is over every limit; keep it a finite, exact-enough number.
    const len =
      hi > 0x1fffff ? Number.MAX_SAFE_INTEGER : hi * 0x100000000 + tBuf.readUInt32BE(tPos + 4)
    return this.haveLength(len)
  }

  private haveLength(len: number): boolean {
    // The limit is enforced as soon as the header is read, before any payload is buffered.
    if (this.opcode < 0x8 && this.messageLength + len > this.limits.maxPayload) {
      return this.fail(
        'SWB_ERR_WS_MESSAGE_TOO_BIG',
        `message over maxPayload (${this.limits.maxPayload} bytes)`,
      )
    }
    // Uncompressed messages count wire bytes; compressed ones count inflated bytes (addToMessage).
    if (this.opcode < 0x8 && !this.compressed) this.messageLength += len
    this.frameLength = len
    this.frameRead = 0
    this.state = MASK
    return true
  }

  /** RFC 6455 §5.3: the 32-bit masking key. */
  private readMask(): boolean {
    if (!this.take(4)) return false
    this.mask = tBuf.readUInt32BE(tPos)
    if (this.frameLength === 0) return this.endFrame(EMPTY)
    this.state = PAYLOAD
    return true
  }

  /** Takes payload as it arrives, as views of the received chunks, unmasking in place. */
  private readPayload(): boolean {
    if (this.queued === 0) return false
    const first = this.queue![0]!
    const n = Math.min(first.length - this.offset, this.frameLength - this.frameRead)
    const piece =
      this.offset === 0 && n === first.length ? first : first.subarray(this.offset, this.offset + n)
    this.offset += n
    this.queued -= n
    if (this.offset === first.length) this.dropFirst()
    unmask(piece, this.mask, this.frameRead)
    this.frameRead += n
    const done = this.frameRead === this.frameLength
    if (this.opcode >= 0x8 || this.compressed) {
      // Control frames and compressed frames are handled whole.
      if (done && this.parts === null) return this.endFrame(piece)
      ;(this.parts ??= []).push(piece)
      if (!done) return true
      const whole = Buffer.concat(this.parts, this.frameLength)
      this.parts = null
      return this.endFrame(whole)
    }
    if (!this.addToMessage(piece)) return false
    if (done) {
      this.state = HEADER
      if (this.fin) this.endMessage()
    }
    return this.state !== STOPPED
  }

  private endFrame(payload: Buffer): boolean {
    this.state = HEADER
    switch (this.opcode) {
      case OP_CLOSE:
        return this.onCloseFrame(payload)
      case OP_PING:
        this.sink.onPing(payload)
        break
      case OP_PONG:
        this.sink.onPong(payload)
        break
      default:
        if (this.compressed) {
          this.state = INFLATING
          this.sink.onInflate(payload, this.fin, this.limits.maxPayload - this.messageLength)
          return false
        }
        if (!this.addToMessage(payload)) return false
        if (this.fin) this.endMessage()
    }
    return this.state !== STOPPED
  }

  /** Appends message bytes; text is validated as it arrives so bad UTF-8 fails fast (§8.1). */
  private addToMessage(piece: Buffer): boolean {
    if (piece.length === 0) return true
    if (this.compressed) {
      this.messageLength += piece.length
      if (this.messageLength > this.limits.maxPayload) {
        return this.fail(
          'SWB_ERR_WS_MESSAGE_TOO_BIG',
          `message over maxPayload (${this.limits.maxPayload} bytes)`,
        )
      }
    }
    if (this.messageOpcode === OP_TEXT) {
      this.utf8 = utf8Step(this.utf8, piece)
      // RFC 6455 §8.1: invalid UTF-8 in a text message fails the connection with 1007.
      if (this.utf8 === UTF8_INVALID)
        return this.fail('SWB_ERR_WS_INVALID_UTF8', 'text message is not valid UTF-8')
    }
    const list = (this.fragments ??= [])
    list.push(piece)
    if (list.length > MAX_PARTS) this.fragments = [Buffer.concat(list)]
    return true
  }

  private endMessage(): void {
    const list = this.fragments
    const data = list === null ? EMPTY : list.length === 1 ? list[0]! : Buffer.concat(list)
    const isText = this.messageOpcode === OP_TEXT
    this.fragments = null
    this.messageOpcode = 0
    this.compressed = false
    this.messageLength = 0
    this.frameCount = 0
    if (isText && !utf8Done(this.utf8)) {
      this.fail('SWB_ERR_WS_INVALID_UTF8', 'text message ends inside a UTF-8 sequence')
      return
    }
    this.sink.onMessage(data, !isText)
  }

  /** RFC 6455 §5.5.1 and §7.4: the close frame body is empty or a valid code then UTF-8 text. */
  private onCloseFrame(payload: Buffer): boolean {
    if (payload.length === 1)
      return this.fail('SWB_ERR_WS_INVALID_CLOSE_FRAME', 'close frame with a 1-byte payload')
    let code = 1005
    let reason = ''
    if (payload.length >= 2) {
      code = payload.readUInt16BE(0)
      if (!isValidCloseCode(code))
        return this.fail('SWB_ERR_WS_INVALID_CLOSE_FRAME', `invalid close code ${code}`)
      const r = utf8Step(UTF8_START, payload, 2)
      if (!utf8Done(r))
        return this.fail('SWB_ERR_WS_INVALID_UTF8', 'close reason is not valid UTF-8')
      reason = payload.toString('utf8', 2)
    }
    this.stop()
    this.sink.onClose(code, reason)
    return false
  }

  private fail(code: WsErrorCode, message: string): false {
    this.stop()
    this.sink.onError(code, message)
    return false
  }
}

/**
 * RFC 6455 §7.4.1/§7.4.2 and the IANA registry: codes a peer may put in a close frame.
 * 1004, 1005, 1006 and 1015 are reserved and never sent; 0-999 and 1016-2999 are unassigned;
 * 3000-4999 belong to libraries and applications.
 */
export function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1003) ||
    (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999)
  )
}

/** RFC 6455 §5.3: XORs `buf` in place with the mask, `pos` bytes into the frame's payload. */
export function unmask(buf: Buffer, mask: number, pos: number): void {
  const k = (pos & 3) * 8
  const m = k === 0 ? mask : ((mask << k) | (mask >>> (32 - k))) >>> 0
  const m0 = m >>> 24
  const m1 = (m >>> 16) & 0xff
  const m2 = (m >>> 8) & 0xff
  const m3 = m & 0xff
  const len = buf.length
  const end4 = len & ~3
  let i = 0
  for (; i < end4; i += 4) {
    buf[i] = buf[i]! ^ m0
    buf[i + 1] = buf[i + 1]! ^ m1
    buf[i + 2] = buf[i + 2]! ^ m2
    buf[i + 3] = buf[i + 3]! ^ m3
  }
  if (i < len) buf[i] = buf[i]! ^ m0
  if (i + 1 < len) buf[i + 1] = buf[i + 1]! ^ m1
  if (i + 2 < len) buf[i + 2] = buf[i + 2]! ^ m2
}
