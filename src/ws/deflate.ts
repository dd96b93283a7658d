import {
  constants,
  createDeflateRaw,
  createInflateRaw,
  type DeflateRaw,
  type InflateRaw,
} from 'node:zlib'
import type { WsErrorCode } from '../errors/ws.ts'
import { DEFLATE_TAIL } from './constants.ts'
import type { DeflateConfig, DeflateParams } from './deflate-params.ts'

/** What a connection does with the results of its permessage-deflate work. */
export interface DeflateOwner {
  /** The inflated bytes of the frame handed to `inflate()`. */
  inflated(data: Buffer): void
  /** Inflating failed: corrupt data (1007) or more than the limit (1009). */
  inflateFailed(code: WsErrorCode, message: string): void
  /** The next outgoing job, in order: a payload to frame (compressed or not) or a raw frame. */
  deflated(payload: Buffer, isBinary: boolean, compressed: boolean, raw: boolean): void
}

const INFLATE = 0
const DEFLATE = 1

/**
 * A process-wide limit on concurrent zlib jobs, so many connections compressing at once queue
 * instead of starving the thread pool (zlib runs on libuv's 4 threads by default).
 */
export class ZlibLimiter {
  concurrency: number
  private running = 0
  private readonly waiting: PerMessageDeflate[] = []
  private readonly kinds: number[] = []
  private head = 0

  constructor(concurrency: number) {
    this.concurrency = concurrency
  }

  /** Jobs currently running / queued (for tests and metrics). */
  get active(): number {
    return this.running
  }
  get queued(): number {
    return this.waiting.length - this.head
  }

  add(owner: PerMessageDeflate, kind: number): void {
    if (this.running < this.concurrency) {
      this.running++
      owner.start(kind)
      return
    }
    this.waiting.push(owner)
    this.kinds.push(kind)
  }

  done(): void {
    this.running--
    while (this.running < this.concurrency && this.head < this.waiting.length) {
      const owner = this.waiting[this.head]!
      const kind = this.kinds[this.head]!
      this.head++
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting.splice(0, this.head)
        this.kinds.splice(0, this.head)
        this.head = 0
      }
      this.running++
      owner.start(kind)
    }
  }
}

/** The limiter every connection shares (10 concurrent zlib jobs). */
export const zlibLimiter = new ZlibLimiter(10)

const kOwner = Symbol('owner')
type OwnedInflate = InflateRaw & { [kOwner]: PerMessageDeflate }
type OwnedDeflate = DeflateRaw & { [kOwner]: PerMessageDeflate }

function onInflateData(this: OwnedInflate, chunk: Buffer): void {
  this[kOwner].inflateData(chunk)
}
function onInflateError(this: OwnedInflate, err: Error): void {
  this[kOwner].inflateError(err)
}
function onDeflateData(this: OwnedDeflate, chunk: Buffer): void {
  this[kOwner].deflateData(chunk)
}
function onDeflateError(this: OwnedDeflate): void {
  // A deflate error only follows misuse; drop the stream, the next job makes a new one.
  this[kOwner].deflater = null
}

const JOB_BINARY = 1
const JOB_COMPRESS = 2
const JOB_RAW = 4

/**
 * The permessage-deflate state of one connection (RFC 7692), allocated only when negotiated.
 * zlib streams are created on first use and, for a side without context takeover, released after
 * each message so idle connections hold no zlib memory. Inflated bytes are counted as they come
 * out, so a deflate bomb stops at the limit (1009); corrupt input fails with 1007.
 */
export class PerMessageDeflate {
  readonly params: DeflateParams
  readonly cfg: DeflateConfig
  private readonly owner: DeflateOwner
  private inflater: OwnedInflate | null = null
  deflater: OwnedDeflate | null = null

  // Inflate job (at most one: the receiver waits for each frame).
  private inData: Buffer | null = null
  private inFin = false
  private inLimit = 0
  private inTotal = 0
  private inChunks: Buffer[] = []
  private inFailed = false

  // Outgoing jobs, in order.
  private jobs: Buffer[] = []
  private flags: number[] = []
  private jobBytes = 0
  private deflating = false
  private outChunks: Buffer[] = []
  // Whether a job holds a limiter slot right now, per direction; and whether destroyed.
  private inRunning = false
  private outRunning = false
  private dead = false

  constructor(owner: DeflateOwner, params: DeflateParams, cfg: DeflateConfig) {
    this.owner = owner
    this.params = params
    this.cfg = cfg
  }

  /** Whether outgoing messages are queued behind a compression (send order must be kept). */
  get busy(): boolean {
    return this.jobs.length > 0
  }

  /** Bytes of outgoing messages not framed yet (part of `bufferedAmount`). */
  get pendingBytes(): number {
    return this.jobBytes
  }

  /** Inflates one frame of a compressed message; answers with `owner.inflated()`. */
  inflate(data: Buffer, fin: boolean, limit: number): void {
    this.inData = data
    this.inFin = fin
    this.inLimit = limit
    zlibLimiter.add(this, INFLATE)
  }

  /** Queues an outgoing message: compressed when `compress`, else framed as is, in order. */
  send(data: Buffer, isBinary: boolean, compress: boolean, raw = false): void {
    this.jobs.push(data)
    this.flags.push(
      (isBinary ? JOB_BINARY : 0) | (compress ? JOB_COMPRESS : 0) | (raw ? JOB_RAW : 0),
    )
    this.jobBytes += data.length
    if (!this.deflating) this.next()
  }

  /** @internal called by the limiter. */
  start(kind: number): void {
    if (this.dead) {
      zlibLimiter.done()
      return
    }
    if (kind === INFLATE) this.startInflate()
    else this.startDeflate()
  }

  private startInflate(): void {
    let z = this.inflater
    // RFC 7692 §7.2.3.3: a message may end its DEFLATE stream with a BFINAL block; what follows
    // is a new stream. An ended zlib stream would drop it silently, so start a fresh one.
    if (z?.readableEnded) {
      this.inflater = null
      z.close()
      z = null
    }
    if (z === null) {
      // Inflating with the window the client may use (RFC 7692 §7.1.2.2).
      z = createInflateRaw({ windowBits: this.params.clientMaxWindowBits }) as OwnedInflate
      z[kOwner] = this
      z.on('data', onInflateData)
      z.on('error', onInflateError)
      this.inflater = z
    }
    const data = this.inData!
    this.inData = null
    this.inTotal = 0
    this.inFailed = false
    this.inRunning = true
    z.write(data)
    // RFC 7692 §7.2.2: append 00 00 ff ff to the last frame's payload before inflating.
    if (this.inFin) z.write(DEFLATE_TAIL)
    z.flush(constants.Z_SYNC_FLUSH, () => this.inflateFlushed(z))
  }

  /** @internal */
  inflateData(chunk: Buffer): void {
    if (this.inFailed) return
    this.inTotal += chunk.length
    if (this.inTotal > this.inLimit) {
      this.failInflate('SWB_ERR_WS_MESSAGE_TOO_BIG', 'inflated message over maxPayload')
      return
    }
    this.inChunks.push(chunk)
  }

  /** @internal */
  inflateError(err: Error): void {
    if (this.inFailed) return
    this.failInflate('SWB_ERR_WS_INFLATE_FAILED', `corrupt compressed data: ${err.message}`)
  }

  private failInflate(code: WsErrorCode, message: string): void {
    this.inFailed = true
    this.inChunks = []
    const z = this.inflater
    this.inflater = null
    if (z !== null) {
      z.removeListener('data', onInflateData)
      z.close()
    }
    this.inRunning = false
    zlibLimiter.done()
    this.owner.inflateFailed(code, message)
  }

  private inflateFlushed(z: OwnedInflate): void {
    if (this.dead || this.inFailed || this.inflater !== z) return
    const chunks = this.inChunks
    this.inChunks = []
    const out = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.inTotal)
    // RFC 7692 §7.1.1.2: without client context takeover, nothing carries over; free the window.
    // A stream that ended (BFINAL) is freed too: the next message starts a new one.
    if ((this.inFin && this.params.clientNoContextTakeover) || z.readableEnded) {
      this.inflater = null
      z.close()
    }
    this.inRunning = false
    zlibLimiter.done()
    this.owner.inflated(out)
  }

  private next(): void {
    while (this.jobs.length > 0) {
      const flags = this.flags[0]!
      if (flags & JOB_COMPRESS) {
        this.deflating = true
        zlibLimiter.add(this, DEFLATE)
        return
      }
      const data = this.jobs.shift()!
      this.flags.shift()
      this.jobBytes -= data.length
      this.owner.deflated(data, (flags & JOB_BINARY) !== 0, false, (flags & JOB_RAW) !== 0)
    }
  }

  private startDeflate(): void {
    let z = this.deflater
    if (z === null) {
      z = createDeflateRaw({
        level: this.cfg.level,
        memLevel: this.cfg.memLevel,
        windowBits: this.params.serverMaxWindowBits,
      }) as OwnedDeflate
      z[kOwner] = this
      z.on('data', onDeflateData)
      z.on('error', onDeflateError)
      this.deflater = z
    }
    this.outRunning = true
    z.write(this.jobs[0]!)
    z.flush(constants.Z_SYNC_FLUSH, () => this.deflateFlushed(z))
  }

  /** @internal */
  deflateData(chunk: Buffer): void {
    this.outChunks.push(chunk)
  }

  private deflateFlushed(z: OwnedDeflate): void {
    if (this.dead) return
    const chunks = this.outChunks
    this.outChunks = []
    let out = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
    // RFC 7692 §7.2.1: a sync flush ends with 00 00 ff ff, which the sender removes.
    if (out.length >= 4 && out.readUInt32BE(out.length - 4) === 0x0000ffff) {
      out = out.subarray(0, out.length - 4)
    }
    // RFC 7692 §7.1.1.1: without server context takeover, start each message afresh.
    if (this.params.serverNoContextTakeover && this.deflater === z) {
      this.deflater = null
      z.close()
    }
    const data = this.jobs.shift()!
    const flags = this.flags.shift()!
    this.jobBytes -= data.length
    this.deflating = false
    this.outRunning = false
    zlibLimiter.done()
    this.owner.deflated(out, (flags & JOB_BINARY) !== 0, true, false)
    if (!this.deflating) this.next()
  }

  /** Releases the zlib streams (connection closed). Queued jobs are dropped. */
  destroy(): void {
    if (this.dead) return
    this.dead = true
    if (this.inRunning) zlibLimiter.done()
    if (this.outRunning) zlibLimiter.done()
    this.inRunning = this.outRunning = false
    this.jobs = []
    this.flags = []
    this.jobBytes = 0
    if (this.inflater !== null) {
      this.inflater.close()
      this.inflater = null
    }
    if (this.deflater !== null) {
      this.deflater.close()
      this.deflater = null
    }
  }
}
