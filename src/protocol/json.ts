import { type Codec, ProtocolDecodeError } from './codec.ts'
import type { CompactPublicationPush } from './compact-push.ts'
import type { ClientCommand, ServerMessage } from './messages.ts'

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** WebSocket subprotocol selecting JSON text frames. */
export const JSON_SUBPROTOCOL = 'switchboard.v1.json'

/**
 * The JSON codec: one message per text frame (or per SSE `data`, or per POST body), UTF-8.
 * Publication `data` must be JSON-compatible.
 *
 * @example
 * jsonCodec.decode(jsonCodec.encode({ type: 'message', data: 'hi' }))
 */
export const jsonCodec: Codec = {
  name: 'json',
  binary: false,
  subprotocol: JSON_SUBPROTOCOL,
  encode(message: ServerMessage | ClientCommand | CompactPublicationPush): Uint8Array {
    return encoder.encode(encodeJsonText(message))
  },
  decode(data: Uint8Array | string): unknown {
    let text: string
    try {
      text = typeof data === 'string' ? data : decoder.decode(data)
      return JSON.parse(text)
    } catch {
      throw new ProtocolDecodeError('a JSON message must be one valid UTF-8 JSON value')
    }
  },
}

/**
 * Encodes a message to a JSON string (for SSE `data:` lines and HTTP bodies). Values JSON has no
 * form for, which a MessagePack peer may have sent, are mapped instead of failing the fan-out:
 * a BigInt becomes a number when it is safe and a decimal string otherwise. (Binary data is
 * written the way JSON writes typed arrays, an object of indexes: send bytes to MessagePack
 * subscribers only.)
 */
export function encodeJsonText(
  message: ServerMessage | ClientCommand | CompactPublicationPush,
): string {
  try {
    return JSON.stringify(message)
  } catch {
    return JSON.stringify(message, jsonSafe)
  }
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value.toString()
  }
  return value
}
