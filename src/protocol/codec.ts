import type { CompactPublicationPush } from './compact-push.ts'
import type { ClientCommand, ServerMessage } from './messages.ts'

/**
 * A wire encoding of protocol messages. One codec per negotiated format; both directions use
 * it (the server encodes {@link ServerMessage}s and decodes commands, the client the reverse).
 * `decode` throws {@link ProtocolDecodeError} on anything that is not one well-formed message.
 *
 * @example
 * const bytes = jsonCodec.encode({ type: 'message', data: 1 })
 */
export interface Codec {
  /** Short name ('json', 'msgpack'). */
  readonly name: string
  /** Whether frames are binary (WebSocket opcode 0x2) rather than text (0x1). */
  readonly binary: boolean
  /** The WebSocket subprotocol that selects this codec. */
  readonly subprotocol: string
  /** A WebSocket format passes publication pushes in their compact form (see `toWireMessage`). */
  encode(message: ServerMessage | ClientCommand | CompactPublicationPush): Uint8Array
  /** Decodes one message; the result is checked for shape only by {@link checkCommand}. */
  decode(data: Uint8Array | string): unknown
}

/** The frame or body does not hold one well-formed protocol message. */
export class ProtocolDecodeError extends Error {
  override readonly name = 'ProtocolDecodeError'
}

const COMMAND_TYPES = new Set([
  'connect',
  'subscribe',
  'unsubscribe',
  'publish',
  'rpc',
  'presence',
  'history',
  'ping',
  'refresh',
])

/** Upper bound on a command id: 2^31 - 1 (a client wraps back to 1). */
export const MAX_COMMAND_ID = 0x7fffffff

/**
 * Deepest nesting of arrays and objects a command's `data` may have (serde_json's default). The
 * JSON and MessagePack encoders recurse, so a publication nested some thousands deep, which
 * `JSON.parse` accepts, would be stored and then fail every subscriber's encode.
 */
export const MAX_DATA_DEPTH = 128

/** Whether `root` nests arrays/objects deeper than `max` levels; iterative, so never overflows. */
function deeperThan(root: unknown, max: number): boolean {
  if (typeof root !== 'object' || root === null) return false
  const values: object[] = [root]
  const depths: number[] = [1]
  while (values.length > 0) {
    const v = values.pop()!
    const d = depths.pop()!
    if (d > max) return true
    if (ArrayBuffer.isView(v)) continue
    for (const x of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof x === 'object' && x !== null) {
        values.push(x)
        depths.push(d + 1)
      }
    }
  }
  return false
}

function isPosition(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false
  const p = v as { offset?: unknown; epoch?: unknown }
  return (
    typeof p.offset === 'number' &&
    Number.isSafeInteger(p.offset) &&
    p.offset >= 0 &&
    typeof p.epoch === 'string'
  )
}

/**
 * Checks that a decoded value is a well-formed command and returns it typed, or throws
 * {@link ProtocolDecodeError} naming the first problem. It checks shape only; the server checks
 * meaning (channel names, permissions).
 *
 * @example
 * const cmd = checkCommand(jsonCodec.decode('{"id":1,"type":"ping"}'))
 */
export function checkCommand(value: unknown): ClientCommand {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolDecodeError('a command must be an object')
  }
  const c = value as Record<string, unknown>
  const id = c.id
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > MAX_COMMAND_ID) {
    throw new ProtocolDecodeError('command id must be an integer from 1 to 2^31-1')
  }
  const type = c.type
  if (typeof type !== 'string' || !COMMAND_TYPES.has(type)) {
    // Any MessagePack value may stand here, a BigInt included, which JSON.stringify cannot show.
    const shown = typeof type === 'string' ? JSON.stringify(type) : typeof type
    throw new ProtocolDecodeError(`unknown command type ${shown}`)
  }
  switch (type) {
    case 'subscribe':
    case 'history':
      if (c.since !== undefined && !isPosition(c.since)) {
        throw new ProtocolDecodeError('since must be { offset: integer >= 0, epoch: string }')
      }
      if (c.limit !== undefined && (typeof c.limit !== 'number' || !Number.isInteger(c.limit))) {
        throw new ProtocolDecodeError('limit must be an integer')
      }
      requireString(c, 'channel')
      break
    case 'unsubscribe':
    case 'presence':
      requireString(c, 'channel')
      break
    case 'publish':
      requireString(c, 'channel')
      if (!('data' in c)) throw new ProtocolDecodeError('publish needs data')
      optionalString(c, 'idempotencyKey')
      optionalString(c, 'key')
      break
    case 'rpc':
      requireString(c, 'method')
      break
    case 'refresh':
      requireString(c, 'token')
      optionalString(c, 'client')
      break
    case 'connect':
      optionalString(c, 'token')
      optionalString(c, 'name')
      break
  }
  if (deeperThan(c.data, MAX_DATA_DEPTH)) {
    throw new ProtocolDecodeError(`data nests deeper than ${MAX_DATA_DEPTH} levels`)
  }
  return value as ClientCommand
}

function requireString(c: Record<string, unknown>, field: string): void {
  if (typeof c[field] !== 'string') throw new ProtocolDecodeError(`${field} must be a string`)
}

function optionalString(c: Record<string, unknown>, field: string): void {
  if (c[field] !== undefined && typeof c[field] !== 'string') {
    throw new ProtocolDecodeError(`${field} must be a string`)
  }
}
