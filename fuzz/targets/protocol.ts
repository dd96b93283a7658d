/**
 * Target `protocol`: protocol v1 command decoding as a session does it
 * (`checkCommand(codec.decode(frame))`, `src/hub/session.ts`), JSON text and MessagePack bytes.
 *
 * Oracles:
 * - decoding throws nothing but `ProtocolDecodeError`, for any bytes (huge declared MessagePack
 *   lengths included), in bounded time and memory;
 * - JSON decoding equals `JSON.parse` of a fatal `TextDecoder` (the reference);
 * - an accepted command has the documented shape (checked here field by field from
 *   `src/protocol/messages.ts`), with its fields as own properties of a plain object;
 * - round trip: an accepted command re-encoded by the same codec decodes to an equal command,
 *   and one that JSON can carry decodes the same through the other codec.
 */
import { isDeepStrictEqual } from 'node:util'
import { checkCommand, ProtocolDecodeError } from '../../src/protocol/codec.ts'
import { jsonCodec } from '../../src/protocol/json.ts'
import type { ClientCommand } from '../../src/protocol/messages.ts'
import { msgpackCodec } from '../../src/protocol/msgpack.ts'
import { fail } from '../lib/input.ts'

export const name = 'protocol'

const strict = new TextDecoder('utf-8', { fatal: true })

function decode(codec: typeof jsonCodec, data: Uint8Array | string): unknown {
  try {
    return { value: codec.decode(data) }
  } catch (err) {
    if (!(err instanceof ProtocolDecodeError)) {
      fail(name, `${codec.name} decode threw ${String(err)}`)
    }
    return undefined
  }
}

function check(value: unknown): ClientCommand | undefined {
  try {
    return checkCommand(value)
  } catch (err) {
    if (!(err instanceof ProtocolDecodeError)) fail(name, `checkCommand threw ${String(err)}`)
    return undefined
  }
}

const own = (o: object, k: string) => Object.hasOwn(o, k)
const str = (o: Record<string, unknown>, k: string) => own(o, k) && typeof o[k] === 'string'
const optStr = (o: Record<string, unknown>, k: string) => o[k] === undefined || str(o, k)

/** The documented shape of each command (docs/protocol.md, src/protocol/messages.ts). */
function wellFormed(c: Record<string, unknown>): boolean {
  const proto = Object.getPrototypeOf(c)
  if (proto !== Object.prototype && proto !== null) return false
  if (!own(c, 'id') || !Number.isInteger(c.id) || (c.id as number) < 1) return false
  if ((c.id as number) > 2 ** 31 - 1) return false
  switch (c.type) {
    case 'subscribe':
    case 'history': {
      const s = c.since as Record<string, unknown> | undefined
      const sinceOk =
        s === undefined ||
        (typeof s === 'object' &&
          s !== null &&
          Number.isSafeInteger(s.offset) &&
          (s.offset as number) >= 0 &&
          typeof s.epoch === 'string')
      return str(c, 'channel') && sinceOk && (c.limit === undefined || Number.isInteger(c.limit))
    }
    case 'unsubscribe':
    case 'presence':
      return str(c, 'channel')
    case 'publish':
      return str(c, 'channel') && own(c, 'data') && optStr(c, 'idempotencyKey') && optStr(c, 'key')
    case 'rpc':
      return str(c, 'method')
    case 'refresh':
      return str(c, 'token') && optStr(c, 'client')
    case 'connect':
      return optStr(c, 'token') && optStr(c, 'name')
    case 'ping':
      return true
    default:
      return false
  }
}

/**
 * Whether both codecs carry `v` unchanged: JSON has no bytes, BigInt, Date, Map, undefined, -0
 * or NaN, and MessagePack decoding (msgpackr) renames a `__proto__` key to `__proto_`, its guard
 * against prototype pollution (a known divergence, docs/fuzzing.md).
 */
function jsonSafe(v: unknown, depth = 0): boolean {
  if (depth > 64) return false
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0)
  if (Array.isArray(v)) return v.every((x) => jsonSafe(x, depth + 1))
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    if (Object.hasOwn(v, '__proto__')) return false
    return Object.values(v as object).every((x) => jsonSafe(x, depth + 1))
  }
  return false
}

export function fuzz(data: Buffer): void {
  if (data.length === 0) return
  const useJson = (data[0]! & 1) === 0
  const frame = data.subarray(1)
  const codec = useJson ? jsonCodec : msgpackCodec
  const decoded = decode(codec, frame) as { value: unknown } | undefined
  if (useJson) {
    let reference: { value: unknown } | undefined
    try {
      reference = { value: JSON.parse(strict.decode(frame)) }
    } catch {
      reference = undefined
    }
    if (!isDeepStrictEqual(decoded, reference)) fail(name, 'JSON decode differs from JSON.parse')
    // A text frame arrives as a string too (the WebSocket layer may hand over either).
    if (
      reference !== undefined &&
      !isDeepStrictEqual(decode(codec, strict.decode(frame)), reference)
    ) {
      fail(name, 'JSON decode of a string differs from that of its bytes')
    }
  }
  if (decoded === undefined) return
  const command = check(decoded.value)
  if (command === undefined) return
  if (!wellFormed(command as unknown as Record<string, unknown>)) {
    fail(name, 'checkCommand accepted a malformed command', { hex: frame.toString('hex') })
  }
  const again = decode(codec, codec.encode(command)) as { value: unknown } | undefined
  if (again === undefined || !isDeepStrictEqual(check(again.value), command)) {
    fail(name, 'an accepted command does not survive its own codec', { hex: frame.toString('hex') })
  }
  if (jsonSafe(command)) {
    const other = useJson ? msgpackCodec : jsonCodec
    const across = decode(other, other.encode(command)) as { value: unknown } | undefined
    if (across === undefined || !isDeepStrictEqual(check(across.value), command)) {
      fail(name, 'a JSON-safe command differs across codecs', { hex: frame.toString('hex') })
    }
  }
}

export function seeds(): Buffer[] {
  const json = (v: unknown) => Buffer.concat([Buffer.from([0]), Buffer.from(JSON.stringify(v))])
  const mp = (v: unknown) =>
    Buffer.concat([Buffer.from([1]), Buffer.from(msgpackCodec.encode(v as ClientCommand))])
  const cmds: unknown[] = [
    { id: 1, type: 'connect', token: 't', name: 'sdk/1' },
    { id: 2, type: 'subscribe', channel: 'chat:a', since: { offset: 4, epoch: 'e1' } },
    {
      id: 3,
      type: 'publish',
      channel: 'chat:a',
      data: { text: 'hi', n: [1, 2.5, null] },
      idempotencyKey: 'k',
    },
    { id: 4, type: 'history', channel: 'c', limit: 10 },
    { id: 5, type: 'rpc', method: 'm', data: 'x' },
    { id: 6, type: 'refresh', token: 't', client: 'c1' },
    { id: 2147483647, type: 'ping' },
    { id: 7, type: 'presence', channel: 'p' },
    { id: 8, type: 'unsubscribe', channel: 'u' },
  ]
  return [
    ...cmds.map(json),
    ...cmds.map(mp),
    Buffer.from([1, 0xdd, 0xff, 0xff, 0xff, 0xff]),
    Buffer.from([1, 0xdf, 0x7f, 0xff, 0xff, 0xff, 0xa2, 0x69, 0x64]),
    Buffer.from([1, 0xc6, 0xff, 0xff, 0xff, 0xf0]),
  ]
}
