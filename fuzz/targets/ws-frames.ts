/**
 * Target `ws-frames`: the RFC 6455 frame parser (`src/ws/receiver.ts`), fed byte streams in any
 * split: raw bytes, or frames built from the input (valid lengths and masks, so fuzzing reaches
 * fragmentation, interleaved control frames and UTF-8 in text messages).
 *
 * Oracles:
 * - differential: the same bytes through `ws`'s Receiver give the same messages, pings, pongs,
 *   close and close code (with the two places where the RFC lets them differ, see `compare`);
 * - split invariance: the same bytes in one chunk give the same events;
 * - limits: no message over `maxPayload`, no more than `maxFragments` frames in one message;
 * - deflate mode: compressed frames are inflated by a synchronous stand-in, no crash.
 */
import { inflateRawSync } from 'node:zlib'
import * as wsPackage from 'ws'
import { ERRORS } from '../../src/errors/index.ts'
import type { WsErrorCode } from '../../src/errors/ws.ts'
import { Receiver, type ReceiverSink } from '../../src/ws/receiver.ts'
import { encodeFrame } from '../lib/frames.ts'
import { FuzzInput, fail, splitChunks } from '../lib/input.ts'

// ws's parser, the reference; driven through its `_write` so every event is synchronous.
const WsReceiver = (wsPackage as unknown as { Receiver: unknown }).Receiver as new (
  options: Record<string, unknown>,
) => {
  _write(chunk: Buffer, enc: unknown, cb: (err?: Error & { code?: string }) => void): void
  on(event: string, fn: (...args: never[]) => void): void
}

/** ws keeps the close code of a parse error under a symbol described 'status-code'. */
function wsStatusCode(err: object): number {
  for (const s of Object.getOwnPropertySymbols(err)) {
    if (s.description === 'status-code') return (err as Record<symbol, number>)[s] ?? 0
  }
  return 0
}

export const name = 'ws-frames'

type Event =
  | { t: 'message'; binary: boolean; hex: string }
  | { t: 'ping' | 'pong'; hex: string }
  | { t: 'close'; code: number; reason: string }
  | { t: 'error'; close: number; code: string }

interface Limits {
  maxPayload: number
  maxFragments: number
}

/** Runs our receiver over `chunks`; compressed frames go through a synchronous inflate. */
export function runOurs(chunks: readonly Buffer[], limits: Limits, deflate: boolean): Event[] {
  const events: Event[] = []
  let pending: { data: Buffer; fin: boolean; limit: number } | null = null
  let inflateTail = Buffer.alloc(0)
  const sink: ReceiverSink = {
    onMessage: (data, isBinary) => {
      events.push({ t: 'message', binary: isBinary, hex: data.toString('hex') })
    },
    onPing: (data) => events.push({ t: 'ping', hex: data.toString('hex') }),
    onPong: (data) => events.push({ t: 'pong', hex: data.toString('hex') }),
    onClose: (code, reason) => events.push({ t: 'close', code, reason }),
    onError: (code: WsErrorCode, _message) => {
      events.push({
        t: 'error',
        close: (ERRORS[code] as { closeCode?: number }).closeCode ?? 0,
        code,
      })
    },
    onInflate: (data, fin, limit) => {
      if (pending !== null) fail(name, 'onInflate before the previous inflate was answered')
      pending = { data: Buffer.from(data), fin, limit }
    },
  }
  const r = new Receiver(sink, limits, deflate)
  const drain = () => {
    while (pending !== null) {
      const job: { data: Buffer; fin: boolean; limit: number } = pending
      pending = null
      if (job.limit < 0) fail(name, 'negative inflate limit', job.limit)
      // One message's frames inflate as one raw deflate stream (no context takeover here).
      // A fragmented compressed message is inflated whole at its last frame.
      inflateTail = Buffer.concat([inflateTail, job.data])
      if (!job.fin) {
        r.inflated(Buffer.alloc(0))
        continue
      }
      let out: Buffer
      try {
        out = inflateRawSync(Buffer.concat([inflateTail, Buffer.from([0, 0, 0xff, 0xff])]), {
          finishFlush: 2,
          maxOutputLength: 1 << 20,
        })
      } catch {
        r.stop()
        events.push({ t: 'error', close: 1007, code: 'SWB_ERR_WS_INFLATE_FAILED' })
        return
      }
      inflateTail = Buffer.alloc(0)
      if (out.length > job.limit) {
        r.stop()
        events.push({ t: 'error', close: 1009, code: 'SWB_ERR_WS_MESSAGE_TOO_BIG' })
        return
      }
      r.inflated(out)
    }
  }
  for (const c of chunks) {
    r.push(c)
    drain()
    const last = events.at(-1)
    if (last !== undefined && (last.t === 'close' || last.t === 'error')) break
  }
  return events
}

/** Runs ws's receiver (server side, same maxPayload, no extensions) over `chunks`. */
function runWs(chunks: readonly Buffer[], maxPayload: number): Event[] {
  const events: Event[] = []
  const r = new WsReceiver({ isServer: true, maxPayload, allowSynchronousEvents: true })
  r.on('message', (data: Buffer, isBinary: boolean) => {
    events.push({ t: 'message', binary: isBinary, hex: data.toString('hex') })
  })
  r.on('ping', (data: Buffer) => events.push({ t: 'ping', hex: data.toString('hex') }))
  r.on('pong', (data: Buffer) => events.push({ t: 'pong', hex: data.toString('hex') }))
  r.on('conclude', (code: number, reason: Buffer) => {
    events.push({ t: 'close', code, reason: reason.toString() })
  })
  r.on('error', () => {})
  let stopped = false
  for (const c of chunks) {
    if (stopped) break
    r._write(c, null, (err) => {
      if (err) {
        stopped = true
        events.push({
          t: 'error',
          close: wsStatusCode(err),
          code: err.code ?? '',
        })
      }
    })
    if (events.at(-1)?.t === 'close') break
  }
  return events
}

const same = (a: Event, b: Event) => JSON.stringify(a) === JSON.stringify(b)

/**
 * Ours and ws's must agree event for event. Where RFC 6455 leaves room, they may differ:
 * - ours fails a text message with 1007 at the first invalid byte (§8.1 "fail fast"); ws checks
 *   at the message's end, so it may still report pings/pongs, a close or a different error after
 *   that point, but never a message;
 * - a 64-bit length with its top bit set: ours 1002 (§5.2 "MUST be 0"), ws 1009;
 * - a close frame announcing a 1-byte payload: ws fails at the header, ours once the byte came.
 */
function compare(ours: Event[], theirs: Event[], chunks: readonly Buffer[]): void {
  const last = ours.at(-1)
  const body = last?.t === 'error' ? ours.length - 1 : ours.length
  for (let i = 0; i < body; i++) {
    if (theirs[i] === undefined || !same(ours[i]!, theirs[i]!)) {
      fail(name, `event ${i} differs from ws`, { ours, theirs, chunks: chunks.length })
    }
  }
  const rest = theirs.slice(body)
  if (last?.t === 'error') {
    if (last.code === 'SWB_ERR_WS_INVALID_UTF8') {
      // Only control events after our fail-fast point, then at most one terminal event.
      for (let i = 0; i < rest.length; i++) {
        const e = rest[i]!
        const terminal = e.t === 'close' || e.t === 'error'
        if (e.t === 'message' || (terminal && i !== rest.length - 1)) {
          fail(name, 'ws delivered past our UTF-8 failure', { ours, theirs })
        }
      }
      return
    }
    const w = rest[0]
    const ok =
      rest.length === 1 &&
      w?.t === 'error' &&
      (w.close === last.close || (last.code === 'SWB_ERR_WS_FRAME_LENGTH' && w.close === 1009))
    if (!ok) fail(name, 'ws ends differently after our error', { ours, theirs })
    return
  }
  if (rest.length === 0) return
  const w = rest[0]!
  if (rest.length === 1 && w.t === 'error' && w.code === 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH') {
    return // ws refused a 1-byte close payload at its header; ours waits for the byte
  }
  fail(name, 'ws reports events ours does not', { ours, theirs })
}

function checkLimits(events: Event[], limits: Limits): void {
  for (const e of events) {
    if (e.t === 'message' && e.hex.length / 2 > limits.maxPayload) {
      fail(name, 'a message over maxPayload was delivered', { len: e.hex.length / 2, limits })
    }
    if ((e.t === 'ping' || e.t === 'pong') && e.hex.length / 2 > 125) {
      fail(name, 'a control frame over 125 bytes was delivered')
    }
  }
}

/** Frames built from the input: each spends a header byte, a length byte and its payload. */
function buildFrames(input: FuzzInput): Buffer {
  const out: Buffer[] = []
  while (input.remaining > 0 && out.length < 64) {
    const h = input.u8()
    const l = input.u8()
    const opcode = [0, 1, 2, 8, 9, 10, 0, 1, 2, 9, 3, 11][h % 12]!
    const fin = (h & 0x10) === 0 || opcode >= 8 ? (h & 0x40) === 0 || h % 7 !== 0 : false
    const rsv = (h & 0xe0) === 0xe0 ? (h >> 2) & 7 : 0
    let len = l & 0x7f
    if (l & 0x80) len = len * 7 // longer payloads now and then
    let payload = input.bytes(len)
    if (opcode === 8 && payload.length >= 2 && (l & 3) !== 0) {
      // A close frame with a plausible code most of the time.
      payload.writeUInt16BE([1000, 1001, 1003, 1007, 1011, 3000, 4999][payload[0]! % 7]!, 0)
    }
    if (opcode === 1 && (h & 8) !== 0) payload = Buffer.from(payload.toString('utf8'))
    out.push(
      encodeFrame({
        fin,
        rsv,
        opcode,
        payload,
        masked: h % 31 !== 30,
        mask: payload.length > 0 ? payload[0]! * 0x01010101 : 0x12345678,
        lengthForm: l % 29 === 28 ? 64 : l % 17 === 16 ? 16 : 7,
      }),
    )
  }
  return Buffer.concat(out)
}

export function fuzz(data: Buffer): void {
  const input = new FuzzInput(data)
  const flags = input.u8()
  const differential = (flags & 1) === 0
  const deflate = !differential && (flags & 2) !== 0
  const limits: Limits = {
    maxPayload: input.pick([16, 125, 1000, 4096, 1 << 20]),
    maxFragments: differential ? 1e9 : input.pick([1, 2, 3, 8, 100]),
  }
  const seed = input.u16()
  const stream = (flags & 4) === 0 ? buildFrames(input) : input.rest()
  const chunks = splitChunks(stream, seed)
  const ours = runOurs(chunks, limits, deflate)
  checkLimits(ours, limits)
  if (differential) {
    compare(ours, runWs(splitChunks(stream, seed), limits.maxPayload), chunks)
  }
  if (!deflate && stream.length > 0) {
    // The parser is a byte-at-a-time state machine: how the bytes are split must not matter.
    const whole = runOurs([Buffer.from(stream)], limits, false)
    if (whole.length !== ours.length || !whole.every((e, i) => same(e, ours[i]!))) {
      fail(name, 'one chunk and split chunks disagree', { ours, whole })
    }
  }
}

/** Seeds: valid traffic the fuzzer mutates from. */
export function seeds(): Buffer[] {
  const f = (fin: boolean, opcode: number, text: string) =>
    encodeFrame({ fin, rsv: 0, opcode, payload: Buffer.from(text), masked: true, mask: 0x37fa213d })
  const close = Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65])
  return [
    Buffer.concat([Buffer.from([4, 3, 0, 0]), f(true, 1, 'Hello')]),
    Buffer.concat([
      Buffer.from([4, 4, 1, 2]),
      f(false, 1, 'Hel'),
      f(true, 9, 'ping'),
      f(false, 0, 'lo €'),
      f(true, 10, ''),
      f(true, 0, '!'),
      f(true, 2, '\x00\x01\x02'),
      encodeFrame({ fin: true, rsv: 0, opcode: 8, payload: close, masked: true, mask: 1 }),
    ]),
    Buffer.from([0, 2, 0, 7, 0x08, 0x05, 0x61, 0x62, 0x63, 0x64, 0x65]),
    Buffer.from([0, 1, 0, 1, 0x11, 0x81, 0xe2, 0x82, 0xac]),
  ]
}
