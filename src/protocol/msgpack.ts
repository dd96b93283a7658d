import { Packr, Unpackr } from 'msgpackr'
import { type Codec, ProtocolDecodeError } from './codec.ts'
import type { CompactPublicationPush } from './compact-push.ts'
import type { ClientCommand, ServerMessage } from './messages.ts'

/** WebSocket subprotocol selecting MessagePack binary frames. */
export const MSGPACK_SUBPROTOCOL = 'switchboard.v1.msgpack'

// Plain MessagePack maps (no msgpackr record extension) so any MessagePack library can read it.
const packr = new Packr({ useRecords: false, variableMapSize: true })
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true })

/**
 * The MessagePack codec: one message per binary frame, the same objects as JSON encoded as
 * standard MessagePack maps. Publication `data` may hold binary values (`Uint8Array`).
 *
 * @example
 * msgpackCodec.decode(msgpackCodec.encode({ type: 'message', data: new Uint8Array([1]) }))
 */
export const msgpackCodec: Codec = {
  name: 'msgpack',
  binary: true,
  subprotocol: MSGPACK_SUBPROTOCOL,
  encode(message: ServerMessage | ClientCommand | CompactPublicationPush): Uint8Array {
    return packr.pack(message)
  },
  decode(data: Uint8Array | string): unknown {
    if (typeof data === 'string') throw new ProtocolDecodeError('MessagePack needs binary frames')
    try {
      return unpackr.unpack(data)
    } catch {
      throw new ProtocolDecodeError('a MessagePack message must be one valid MessagePack value')
    }
  },
}
