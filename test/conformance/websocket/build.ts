/**
 * Small constructors the case groups share: frames by type, expected events, and the two case
 * shapes (the server echoes and closes normally; the server fails the connection with a code).
 *
 * @example
 * echo('1.1.1', 'echoes an empty text message', [f.text('')], [m.text('')])
 * fail('4.1.1', 'refuses opcode 3 with 1002', [f.raw({ opcode: 3 })], [], 1002)
 */
import type { Case, ControlNote, Expect } from './case.ts'
import type { Msg } from './client.ts'
import { closePayload, encodeFrame, type FrameSpec, Opcode, toBytes } from './frame.ts'

type Extra = Omit<FrameSpec, 'opcode' | 'payload'>
type Data = Uint8Array | string

export const f = {
  raw: (spec: FrameSpec) => encodeFrame(spec),
  text: (p: Data, o: Extra = {}) => encodeFrame({ ...o, opcode: Opcode.text, payload: p }),
  binary: (p: Data, o: Extra = {}) => encodeFrame({ ...o, opcode: Opcode.binary, payload: p }),
  cont: (p: Data, o: Extra = {}) => encodeFrame({ ...o, opcode: Opcode.continuation, payload: p }),
  ping: (p: Data = '', o: Extra = {}) => encodeFrame({ ...o, opcode: Opcode.ping, payload: p }),
  pong: (p: Data = '', o: Extra = {}) => encodeFrame({ ...o, opcode: Opcode.pong, payload: p }),
  close: (code?: number, reason: Data = '', o: Extra = {}) =>
    encodeFrame({ ...o, opcode: Opcode.close, payload: closePayload(code, reason) }),
  closeRaw: (payload: Data, o: Extra = {}) => encodeFrame({ ...o, opcode: Opcode.close, payload }),
}

/** Splits a payload into fragments (first keeps `opcode`, the rest are continuations). */
export function fragments(
  opcode: number,
  payload: Data,
  sizes: number | number[],
  o: Extra = {},
): Buffer[] {
  const bytes = toBytes(payload)
  const out: Buffer[] = []
  let i = 0
  let k = 0
  do {
    const size = Array.isArray(sizes) ? (sizes[k++] ?? bytes.length) : sizes
    const part = bytes.subarray(i, i + size)
    i += size
    const first = out.length === 0
    out.push(
      encodeFrame({
        ...o,
        rsv: first ? o.rsv : 0,
        opcode: first ? opcode : Opcode.continuation,
        payload: part,
        fin: i >= bytes.length,
      }),
    )
  } while (i < bytes.length)
  return out
}

export const m = {
  text: (s: Data): Msg => ({ type: 'text', data: toBytes(s) }),
  binary: (b: Data): Msg => ({ type: 'binary', data: toBytes(b) }),
  pong: (b: Data = ''): Msg => ({ type: 'pong', data: toBytes(b) }),
}

interface CaseExtra {
  extensions?: string
  deadlineMs?: number
  control?: ControlNote
  expect?: Partial<Expect>
}

const groupOf = (id: string) => id.split('.')[0]!

/** The server echoes `events` and then answers the client's close 1000 (appended here). */
export function echo(
  id: string,
  title: string,
  frames: Buffer[],
  events: Msg[],
  x: CaseExtra = {},
): Case {
  return {
    id,
    group: groupOf(id),
    title,
    frames: [...frames, f.close(1000)],
    clientCloses: true,
    extensions: x.extensions,
    deadlineMs: x.deadlineMs,
    control: x.control,
    expect: { events, close: [1000, 1005], ...x.expect },
  }
}

/** The server sends `events` and then fails the connection with `code`. */
export function fail(
  id: string,
  title: string,
  frames: Buffer[],
  events: Msg[],
  code: number | number[],
  x: CaseExtra = {},
): Case {
  return {
    id,
    group: groupOf(id),
    title,
    frames,
    clientCloses: false,
    extensions: x.extensions,
    deadlineMs: x.deadlineMs,
    control: x.control,
    expect: { events, close: Array.isArray(code) ? code : [code], ...x.expect },
  }
}

/** Deterministic filler: printable ASCII text or a byte ramp. */
export function asciiOf(n: number): string {
  return n === 0 ? '' : Buffer.alloc(n, 'abcdefghijklmnopqrstuvwxyz0123456789 *').toString('latin1')
}

export function bytesOf(n: number, seed = 0): Buffer {
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff
  return b
}
