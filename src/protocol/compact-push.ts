import type { ClientInfo, PublicationPush, ServerMessage } from './messages.ts'

/**
 * The optional fields of a publication push, carried as the fourth element of its compact form
 * only when one of them is present.
 */
export interface PushExtras {
  readonly epoch?: string
  readonly info?: ClientInfo
  readonly key?: string
  readonly time?: number
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/**
 * A publication push as WebSocket frames carry it: `[channel, offset, data]`, or
 * `[channel, offset, data, extras]` when the push names its epoch or carries `info`, `key` or
 * `time`. Publications are most of what a server sends, so they leave out the field names every
 * other message spells: a 64-character string published on `chat:lobby` is 83 bytes of JSON
 * instead of 130.
 * Every other message, and every publication over SSE, keeps its object form.
 */
export type CompactPublicationPush =
  | readonly [channel: string, offset: number, data: unknown]
  | readonly [channel: string, offset: number, data: unknown, extras: PushExtras]

/**
 * The value a WebSocket codec encodes for `message`: the compact array for a publication push,
 * the message itself otherwise.
 *
 * @example
 * toWireMessage({ type: 'publication', channel: 'chat:a', offset: 7, data: 'hi' })
 * // ['chat:a', 7, 'hi']
 */
export function toWireMessage(message: ServerMessage): ServerMessage | CompactPublicationPush {
  if (!('type' in message) || message.type !== 'publication') return message
  const { channel, offset, data, epoch, info, key, time } = message
  if (epoch === undefined && info === undefined && key === undefined && time === undefined) {
    return [channel, offset, data]
  }
  const extras: Mutable<PushExtras> = {}
  if (epoch !== undefined) extras.epoch = epoch
  if (info !== undefined) extras.info = info
  if (key !== undefined) extras.key = key
  if (time !== undefined) extras.time = time
  return [channel, offset, data, extras]
}

/**
 * Reads a decoded server frame: expands a compact publication push into its object form and
 * checks that anything else looks like a server message (a `type` or a numeric `id`). Returns
 * `undefined` for a value that is neither, a malformed compact push included.
 *
 * @example
 * readServerMessage(['chat:a', 7, 'hi'])
 * // { type: 'publication', channel: 'chat:a', offset: 7, data: 'hi' }
 */
export function readServerMessage(value: unknown): ServerMessage | undefined {
  if (Array.isArray(value)) return readCompactPush(value)
  if (typeof value !== 'object' || value === null) return undefined
  const m = value as { id?: unknown; type?: unknown }
  return typeof m.type === 'string' || typeof m.id === 'number'
    ? (value as ServerMessage)
    : undefined
}

function readCompactPush(value: readonly unknown[]): PublicationPush | undefined {
  if (value.length !== 3 && value.length !== 4) return undefined
  const [channel, offset, data, extras] = value
  if (typeof channel !== 'string') return undefined
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) return undefined
  if (value.length === 3) return { type: 'publication', channel, offset, data }
  if (typeof extras !== 'object' || extras === null || Array.isArray(extras)) return undefined
  const x = extras as PushExtras
  if (x.epoch !== undefined && typeof x.epoch !== 'string') return undefined
  if (x.key !== undefined && typeof x.key !== 'string') return undefined
  if (x.time !== undefined && typeof x.time !== 'number') return undefined
  if (x.info !== undefined && (typeof x.info !== 'object' || x.info === null)) return undefined
  const push: Mutable<PublicationPush> =
    x.epoch === undefined
      ? { type: 'publication', channel, offset, data }
      : { type: 'publication', channel, offset, epoch: x.epoch, data }
  if (x.info !== undefined) push.info = x.info
  if (x.key !== undefined) push.key = x.key
  if (x.time !== undefined) push.time = x.time
  return push
}
