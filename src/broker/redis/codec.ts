import { Packr } from 'msgpackr'
import type { ClientInfo, Publication } from '../../protocol/index.ts'
import type { ControlMessage, TracedPublication } from '../broker.ts'

/**
 * The bytes the Redis broker stores and sends. A publication's body (data, publisher, key) is
 * MessagePack, packed once by the publishing node and stored and published as is; the publish
 * script wraps it in a Pub/Sub message that adds the position:
 *
 *   'p' <epoch> '\n' <offset> '\n' <ms stored> '\n' <body>      a publication
 *   'j' <MessagePack ClientInfo>                                 a join
 *   'l' <MessagePack ClientInfo>                                 a leave
 *
 * Control messages travel on their own topic as MessagePack.
 */
const packr = new Packr({ useRecords: false, moreTypes: false })

const P = 0x70 // 'p'
const J = 0x6a // 'j'
const L = 0x6c // 'l'
const NL = 0x0a

type Trace = Readonly<Record<string, string>>

/** Packs a publication's body; `trace` (the publish's W3C trace context) travels in it too. */
export function packBody(
  data: unknown,
  info: ClientInfo | undefined,
  key: string | undefined,
  trace?: Trace,
): Buffer {
  const body: { d: unknown; i?: ClientInfo; k?: string; t?: Trace } = { d: data }
  if (info !== undefined) body.i = info
  if (key !== undefined) body.k = key
  if (trace !== undefined) body.t = trace
  return packr.pack(body)
}

/** A publication rebuilt from its body, offset and storage time; with `live`, it keeps the
 * trace context the body carries (history answers leave it out). */
export function unpackPublication(
  body: Buffer,
  offset: number,
  time: number,
  live = false,
): Publication {
  const b = packr.unpack(body) as { d: unknown; i?: ClientInfo; k?: string; t?: Trace }
  const pub: {
    offset: number
    data: unknown
    time: number
    info?: ClientInfo
    key?: string
    trace?: Trace
  } = {
    offset,
    data: b.d,
    time,
  }
  if (b.i !== undefined) pub.info = b.i
  if (b.k !== undefined) pub.key = b.k
  if (live && b.t !== undefined) pub.trace = b.t
  return pub as TracedPublication
}

/** A stream entry as XRANGE returns it: `[id, [field, value, …]]`, with the id `<offset>-<ms>`. */
export type StreamEntry = [Buffer | string, (Buffer | string)[]]

/** The publication a stream entry holds. */
export function entryPublication(entry: StreamEntry): Publication {
  const id = entry[0].toString()
  const dash = id.indexOf('-')
  const fields = entry[1]
  let body: Buffer | undefined
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i]!.toString() === 'b') body = toBuffer(fields[i + 1]!)
  }
  if (body === undefined) throw new Error(`stream entry ${id} has no body`)
  return unpackPublication(body, Number(id.slice(0, dash)), Number(id.slice(dash + 1)))
}

/** A decoded Pub/Sub message of a channel topic; a publication's body is unpacked only when
 * `wanted(epoch, offset)` says so (a node skips the echo of what it delivered already). */
export type TopicMessage =
  | { readonly kind: 'publication'; readonly epoch: string; readonly publication: Publication }
  | { readonly kind: 'join' | 'leave'; readonly info: ClientInfo }
  | { readonly kind: 'skipped' }

/** Decodes a channel topic's message; throws on bytes this broker did not write. */
export function decodeTopicMessage(
  msg: Buffer,
  wanted: (epoch: string, offset: number) => boolean,
): TopicMessage {
  const type = msg[0]
  if (type === J || type === L) {
    return {
      kind: type === J ? 'join' : 'leave',
      info: packr.unpack(msg.subarray(1)) as ClientInfo,
    }
  }
  if (type !== P) throw new Error(`unknown topic message type ${type}`)
  const a = msg.indexOf(NL, 1)
  const b = msg.indexOf(NL, a + 1)
  const c = msg.indexOf(NL, b + 1)
  if (a < 0 || b < 0 || c < 0) throw new Error('truncated publication message')
  const epoch = msg.toString('latin1', 1, a)
  const offset = Number(msg.toString('latin1', a + 1, b))
  if (!wanted(epoch, offset)) return { kind: 'skipped' }
  const time = Number(msg.toString('latin1', b + 1, c))
  return {
    kind: 'publication',
    epoch,
    publication: unpackPublication(msg.subarray(c + 1), offset, time, true),
  }
}

/** A join or leave message for a channel topic. */
export function encodePresenceEvent(kind: 'join' | 'leave', info: ClientInfo): Buffer {
  const packed = packr.pack(info)
  const out = Buffer.allocUnsafe(packed.length + 1)
  out[0] = kind === 'join' ? J : L
  packed.copy(out, 1)
  return out
}

export function packInfo(info: ClientInfo): Buffer {
  return packr.pack(info)
}

export function unpackInfo(bytes: Buffer): ClientInfo {
  return packr.unpack(bytes) as ClientInfo
}

export function packControl(message: ControlMessage): Buffer {
  return packr.pack(message)
}

export function unpackControl(bytes: Buffer): ControlMessage {
  return packr.unpack(bytes) as ControlMessage
}

export function toBuffer(value: Buffer | string): Buffer {
  return typeof value === 'string' ? Buffer.from(value) : value
}
