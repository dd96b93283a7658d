import { type Codec, ProtocolDecodeError } from './codec.ts'
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
  encode(message: ServerMessage | ClientCommand): Uint8Array {
    return encoder.encode(JSON.stringify(message))
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

/** Encodes a message to a JSON string (for SSE `data:` lines and HTTP bodies). */
export function encodeJsonText(message: ServerMessage | ClientCommand): string {
  return JSON.stringify(message)
}
