/**
 * Target `client-push`: the SDK reading what a server sends (`src/client`): frames decoded by the
 * codec, `readServerMessage` (compact publication arrays included), then the client's handling
 * of replies and pushes for its subscriptions. A connected client over a fake WebSocket, two
 * subscriptions, then frames from the input: raw bytes, or messages built from templates of every
 * push and reply with fields of any JSON type.
 *
 * Oracles: nothing a server sends makes the client throw out of `onmessage` (in Node, with `ws`,
 * that would be an uncaught exception), reject a promise nobody handles, or throw later from a
 * timer; a frame that is no protocol message closes the socket with 1002 (1000 after a
 * `disconnect` push); a subscription never delivers an offset twice within an epoch.
 */
import { SwitchboardClient } from '../../src/client/client.ts'
import type { WebSocketLike } from '../../src/client/transport-ws.ts'
import type { Codec } from '../../src/protocol/codec.ts'
import { jsonCodec } from '../../src/protocol/json.ts'
import { msgpackCodec } from '../../src/protocol/msgpack.ts'
import { FuzzInput, fail } from '../lib/input.ts'

export const name = 'client-push'

export class FakeSocket implements WebSocketLike {
  static last: FakeSocket | null = null
  readyState = 0
  binaryType = 'blob'
  onopen: ((event: unknown) => void) | null = null
  onmessage: ((event: { data: unknown }) => void) | null = null
  onclose: ((event: { code: number; reason: string }) => void) | null = null
  onerror: ((event: unknown) => void) | null = null
  closedWith: number | null = null
  codec: Codec = jsonCodec
  constructor() {
    FakeSocket.last = this
    queueMicrotask(() => {
      this.readyState = 1
      this.onopen?.({})
    })
  }
  send(data: string | Uint8Array): void {
    const cmd = this.codec.decode(data) as { id: number; type: string; channel?: string }
    const result =
      cmd.type === 'connect'
        ? { client: 'c1', user: 'u', version: 1 }
        : cmd.type === 'subscribe'
          ? { offset: 3, epoch: 'e1', recoverable: true }
          : {}
    queueMicrotask(() => this.deliver(this.codec.encode({ id: cmd.id, result })))
  }
  deliver(frame: Uint8Array | string): void {
    if (this.readyState !== 1) return
    const data =
      typeof frame === 'string'
        ? frame
        : this.codec.binary
          ? frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength)
          : new TextDecoder().decode(frame)
    this.onmessage?.({ data })
  }
  close(code?: number): void {
    this.closedWith = code ?? 1005
    this.readyState = 3
  }
}

/** A value of any JSON type (and, for MessagePack, bytes), chosen by the input. */
function value(input: FuzzInput, depth = 0): unknown {
  const k = input.u8() % (depth > 2 ? 9 : 11)
  switch (k) {
    case 0:
      return null
    case 1:
      return input.u8() - 2
    case 2:
      return input.u16() * 1e6 + 0.5
    case 3:
      return input.pick(['', 'a', 'b', 'e1', 'e2', 'x'])
    case 4:
      return input.bool()
    case 5:
      return -1
    case 6:
      return input.u8()
    case 7:
      return 2 ** 53 + input.u8()
    case 8:
      return input.bytes(input.u8() % 4).toString('latin1')
    case 9:
      return Array.from({ length: input.u8() % 4 }, () => value(input, depth + 1))
    default: {
      const o: Record<string, unknown> = {}
      const n = input.u8() % 4
      for (let i = 0; i < n; i++) o[input.pick(FIELDS)] = value(input, depth + 1)
      return o
    }
  }
}

const FIELDS = [
  'offset',
  'epoch',
  'recoverable',
  'recovered',
  'publications',
  'data',
  'info',
  'user',
  'client',
  'code',
  'reason',
]
const TYPES = [
  'publication',
  'join',
  'leave',
  'gap',
  'subscribe',
  'unsubscribe',
  'message',
  'connected',
  'disconnect',
  'other',
]

/** One server message built from a template, its fields sometimes right, sometimes anything. */
function message(input: FuzzInput): unknown {
  const f = input.u8()
  const pick = <T>(good: T) => (f & 0x80 && input.bool() ? value(input) : good)
  const channel = pick(input.pick(['a', 'b', 'c']))
  if (f % 4 === 0) {
    // A compact publication push: [channel, offset, data] or with extras.
    const arr: unknown[] = [channel, pick(input.u8()), value(input)]
    if (f & 4)
      arr.push(f & 8 ? value(input) : { epoch: pick(input.pick(['e1', 'e2'])), key: pick('k') })
    return arr
  }
  if (f % 4 === 1) {
    // A reply to a command we may or may not have sent.
    const id = pick(1 + (input.u8() % 6))
    return f & 4
      ? { id, error: pick({ code: pick('SWB_ERR_X'), message: pick('m'), temporary: pick(true) }) }
      : { id, result: value(input) }
  }
  const type = input.pick(TYPES)
  const m: Record<string, unknown> = { type, channel }
  const n = input.u8() % 6
  for (let i = 0; i < n; i++) m[input.pick(FIELDS)] = value(input)
  if (type === 'publication') m.offset ??= input.u8()
  if (type === 'gap')
    Object.assign(m, { epoch: pick('e1'), from: pick(4), to: pick(9), count: pick(6) })
  if (type === 'subscribe')
    Object.assign(m, { offset: pick(5), epoch: pick('e2'), recoverable: pick(true) })
  if (type === 'unsubscribe' || type === 'disconnect')
    m.code ??= input.pick([3000, 3500, 4000, 1000])
  return m
}

/** A publication whose position fields have their documented types (compact or object form). */
function wellTypedPublication(m: unknown): boolean {
  const offsetOk = (o: unknown) => Number.isSafeInteger(o) && (o as number) >= 0
  if (Array.isArray(m)) {
    const x = m[3] as { epoch?: unknown } | undefined
    return (
      offsetOk(m[1]) &&
      (x === undefined ||
        x === null ||
        typeof x !== 'object' ||
        x.epoch === undefined ||
        typeof x.epoch === 'string')
    )
  }
  const o = m as { type?: unknown; offset?: unknown; epoch?: unknown }
  return (
    o.type === 'publication' &&
    offsetOk(o.offset) &&
    (o.epoch === undefined || typeof o.epoch === 'string')
  )
}

const errors: unknown[] = []
const record = (err: unknown) => errors.push(err)

export async function fuzz(data: Buffer): Promise<void> {
  const input = new FuzzInput(data)
  const flags = input.u8()
  const codec = flags & 1 ? msgpackCodec : jsonCodec
  const structured = (flags & 2) === 0
  errors.length = 0
  process.on('uncaughtException', record)
  process.on('unhandledRejection', record)
  const client = new SwitchboardClient({
    url: 'ws://fuzz.test/sb',
    WebSocket: FakeSocket,
    transport: 'websocket',
    codec,
    visibility: null,
    minReconnectDelay: 60_000,
    maxReconnectDelay: 60_000,
    pingInterval: 60_000,
  })
  // `era` counts frames that may move a position without delivering (gap, subscribe, replies):
  // the no-repeat rule holds between publications of one era.
  let era = 0
  const delivered: { channel: string; offset: unknown; epoch: unknown; era: number }[] = []
  for (const ch of ['a', 'b']) {
    const sub = client.subscribe(ch)
    sub.on('publication', (p) =>
      delivered.push({ channel: ch, offset: p.offset, epoch: p.epoch, era }),
    )
    sub.on('error', () => {})
  }
  client.on('publication', () => {})
  try {
    client.connect()
    const socket = FakeSocket.last!
    socket.codec = codec
    for (let i = 0; i < 4; i++) await Promise.resolve()
    await new Promise(setImmediate)
    if (client.state !== 'connected') fail(name, 'the fake server did not connect', client.state)
    let frames = 0
    while (input.remaining > 0 && frames++ < 32 && socket.readyState === 1) {
      let frame: Uint8Array | string
      if (structured) {
        const m = message(input)
        if (!wellTypedPublication(m)) era++
        frame = codec.encode(m as never)
      } else {
        era++
        frame = flags & 1 ? input.bytes(input.u8()) : input.bytes(input.u8()).toString('latin1')
      }
      try {
        socket.deliver(frame)
      } catch (err) {
        fail(name, 'onmessage threw', { err: String(err), stack: (err as Error).stack })
      }
      if (input.u8() % 4 === 0) await Promise.resolve()
    }
    await new Promise(setImmediate)
    if (socket.closedWith !== null && ![1000, 1002].includes(socket.closedWith)) {
      fail(name, 'the client closed with an unexpected code', socket.closedWith)
    }
  } finally {
    client.disconnect()
    await new Promise(setImmediate)
    process.off('uncaughtException', record)
    process.off('unhandledRejection', record)
  }
  if (errors.length > 0) {
    const e = errors[0] as Error
    fail(name, 'an error escaped the client', { err: String(e), stack: e?.stack })
  }
  // The SDK passes the fields of an object-form push through unchecked (its types are the
  // server's word), so the duplicate check applies to well-typed positions only.
  const last = new Map<string, { offset: unknown; epoch: unknown; era: number }>()
  for (const p of delivered) {
    if (!Number.isSafeInteger(p.offset) || typeof p.epoch !== 'string') continue
    const prev = last.get(p.channel)
    const sameRun = prev !== undefined && prev.era === p.era && prev.epoch === p.epoch
    if (sameRun && (p.offset as number) <= (prev.offset as number)) {
      fail(name, 'a publication offset repeated within its epoch', { prev, p })
    }
    last.set(p.channel, p)
  }
}

export function seeds(): Buffer[] {
  return [
    Buffer.from([0, 0, 1, 7, 0, 4, 0, 1, 9, 2, 0, 9, 1]),
    Buffer.from([1, 0, 1, 7, 0, 4, 0, 1, 9, 2, 0, 9, 1]),
    Buffer.from([0, 5, 3, 6, 0, 2, 3, 0x84, 1, 1, 0, 0]),
    Buffer.concat([Buffer.from([2, 17]), Buffer.from('["a",4,"x",{}]'), Buffer.from([0])]),
    Buffer.from([0, 2, 0, 4, 1, 2, 3, 3, 6, 8, 2, 4, 0, 0]),
  ]
}
