import {
  type Codec,
  encodeJsonText,
  jsonCodec,
  msgpackCodec,
  type ServerMessage,
  toWireMessage,
} from '../protocol/index.ts'

/**
 * One message prepared for one wire format: the bytes (or text) a transport writes as is. A
 * publication is prepared once per format and the same `Frame` object is appended to every
 * subscriber's outbox, so the fields below are shared and must never be mutated.
 */
export interface Frame {
  /** What the transport writes: encoded bytes (WebSocket) or event text (SSE). */
  readonly data: Uint8Array | string
  /** Bytes counted against the session's outbox limit. */
  readonly byteLength: number
  /** Whether this is a channel publication (the only frames a slow-consumer policy may drop). */
  readonly publication: boolean
  /** Channel and stream position carried by publication and subscribe frames (SSE ids use them). */
  readonly channel?: string
  readonly offset?: number
  readonly epoch?: string
  /** Conflation key of a publication. */
  readonly key?: string
  /** A transport-native form made once with the frame, e.g. the ws layer's pre-framed
   * `PreparedMessage` (see `defineWireFormat`'s `native`). */
  readonly native?: unknown
}

/**
 * A wire format: how a server message becomes a {@link Frame} for one kind of transport
 * ('ws-json', 'ws-msgpack', 'sse'). The hub calls `prepare` once per publication per format in
 * use and caches the result for that publication.
 *
 * @example
 * const wsJson = defineWireFormat({ name: 'ws-json', codec: jsonCodec })
 */
export interface WireFormat {
  readonly name: string
  /** Decodes inbound commands (for bidirectional transports). */
  readonly codec: Codec
  /** `epoch`: the stream of a publication whose message leaves its epoch out (the frame still
   * records it, for SSE ids and gap markers). */
  prepare(message: ServerMessage, epoch?: string): Frame
}

/** Fills the position fields of a frame from a message that carries them. */
function frameOf(
  message: ServerMessage,
  data: Uint8Array | string,
  byteLength: number,
  native: unknown,
  epoch: string | undefined,
): Frame {
  const m = message as {
    type?: string
    channel?: string
    offset?: number
    epoch?: string
    key?: string
  }
  const extra = native === undefined ? null : { native }
  if (m.type === 'publication' || m.type === 'subscribe') {
    return {
      data,
      byteLength,
      publication: m.type === 'publication',
      channel: m.channel,
      offset: m.offset,
      epoch: epoch ?? m.epoch,
      ...(m.key === undefined ? null : { key: m.key }),
      ...extra,
    }
  }
  return { data, byteLength, publication: false, ...extra }
}

/**
 * Builds a WebSocket wire format from a codec. Publication pushes are encoded in their compact
 * form (`toWireMessage`), everything else as is. `native`, when given, is called once per prepared
 * message with the encoded bytes; its result rides along as `frame.native` (pass the ws layer's
 * `prepareMessage` so the WebSocket framing too is done once per publication and every
 * connection writes the same frame with `ws.sendPrepared`).
 *
 * @example
 * const wsJson = defineWireFormat({ name: 'ws-json', codec: jsonCodec, native: prepareMessage })
 */
export function defineWireFormat(options: {
  name: string
  codec: Codec
  native?: (encoded: Uint8Array, binary: boolean) => unknown
}): WireFormat {
  const { name, codec, native } = options
  return {
    name,
    codec,
    prepare(message: ServerMessage, epoch?: string): Frame {
      const data = codec.encode(toWireMessage(message))
      return frameOf(message, data, data.byteLength, native?.(data, codec.binary), epoch)
    },
  }
}

/** JSON over WebSocket text frames (subprotocol `switchboard.v1.json`). */
export const wsJsonFormat: WireFormat = defineWireFormat({ name: 'ws-json', codec: jsonCodec })

/** MessagePack over WebSocket binary frames (subprotocol `switchboard.v1.msgpack`). */
export const wsMsgpackFormat: WireFormat = defineWireFormat({
  name: 'ws-msgpack',
  codec: msgpackCodec,
})

/**
 * Server-Sent Events: each message becomes `event: <type>\ndata: <json>\n` — an event without
 * its terminating blank line and without `id:`. The SSE transport writes a per-stream `id:` line
 * (the cursor of every channel, see protocol/sse-id.ts) and the blank line around this shared
 * text, so the JSON is encoded once per publication whatever the number of streams.
 */
export const sseFormat: WireFormat = {
  name: 'sse',
  codec: jsonCodec,
  prepare(message: ServerMessage, epoch?: string): Frame {
    const type = (message as { type?: string }).type ?? 'reply'
    // JSON.stringify never emits a raw CR or LF, so the data fits on one `data:` line.
    const text = `event: ${type}\ndata: ${encodeJsonText(message)}\n`
    return frameOf(message, text, utf8Length(text), undefined, epoch)
  },
}

/** UTF-8 length of a string without encoding it (a lone surrogate counts as U+FFFD, 3 bytes). */
export function utf8Length(text: string): number {
  let n = text.length
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800) n += 1
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2 // two UTF-16 units, four bytes
        i++
      } else n += 2
    } else n += 2
  }
  return n
}

/**
 * The connection under a session, as the hub sees it: a WebSocket session and an SSE session are
 * the same thing to it. The hub writes at most once per write window per session: an event-loop
 * turn, or `writeDelay` ms.
 *
 * @example
 * const transport: Transport = {
 *   format: wsJsonFormat,
 *   write(frames) { for (const f of frames) conn.send(f.data); return conn.buffered < 1 << 20 },
 *   close(code, reason) { conn.close(code, reason) },
 * }
 */
/**
 * The connection under a transport, as far as the hub reads it: the bytes it holds unsent
 * (the ws layer's `ServerWebSocket` reports them).
 */
export interface FrameSink {
  /** Bytes accepted but not yet taken by the kernel. */
  readonly bufferedAmount: number
}

export interface Transport {
  /** The format of every frame written to this transport. */
  readonly format: WireFormat
  /**
   * Writes a batch of frames in order. Returns `false` when the connection is over its own
   * high-water mark; the hub then writes nothing more until the transport calls
   * `session.drain()`.
   */
  write(frames: readonly Frame[]): boolean
  /**
   * Optional: the connection, whose `bufferedAmount` (bytes written but not yet taken by the
   * kernel) the hub counts against `maxOutboxBytes` when a session starts taking a channel's
   * shared frames. Every frame still goes through `write`, once per turn. (Read as a field,
   * without a call through the transport: in a fan-out every object a delivery touches is a
   * cache miss.)
   */
  readonly connection?: FrameSink
  /**
   * Optional: the transport gains from being handed the very same frames array as other
   * sessions (SSE builds one batch per turn and recognises it by identity). The hub then lets
   * sessions share a channel's per-turn frames instead of queuing each one.
   */
  readonly sharedBatches?: boolean
  /** Closes the connection with a disconnect code (3000–4999) after what was written. */
  close(code: number, reason: string): void
}
