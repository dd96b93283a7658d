// The client's MessagePack codec, `switchboard/client/msgpack`: its own entry point, so the main
// client (`switchboard/client`, the served bundle) stays free of msgpackr. Nothing under
// src/client imports this file (isomorphic.test.ts checks it).

/**
 * The protocol's MessagePack codec (`switchboard.v1.msgpack`): pass it as the client's `codec`
 * to speak binary MessagePack frames over WebSocket. Publication data may then hold
 * `Uint8Array` values. SSE streams and POST commands stay JSON.
 *
 * @example
 * import { SwitchboardClient } from 'switchboard/client'
 * import { msgpackCodec } from 'switchboard/client/msgpack'
 * const client = new SwitchboardClient({ url: 'wss://example.com/switchboard', codec: msgpackCodec })
 */
export { MSGPACK_SUBPROTOCOL, msgpackCodec } from '../protocol/msgpack.ts'
