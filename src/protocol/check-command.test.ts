// Inputs the protocol fuzz target found (fuzz/corpus/protocol/): checkCommand refuses every
// malformed command with ProtocolDecodeError, whatever type a MessagePack peer put in a field.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { checkCommand, ProtocolDecodeError } from './codec.ts'
import { msgpackCodec } from './msgpack.ts'

test('a command whose type is a MessagePack int64 (a BigInt) is refused with ProtocolDecodeError, not a TypeError', () => {
  // {"id": 2147483647, "type": <int64>}, as the fuzzer sent it.
  const frame = Buffer.from('82a26964ce7fffffffa474797065d3b22927a470696e67', 'hex')
  const value = msgpackCodec.decode(frame)
  assert.equal(typeof (value as { type: unknown }).type, 'bigint')
  assert.throws(() => checkCommand(value), ProtocolDecodeError)
  assert.throws(() => checkCommand({ id: 1, type: 10n }), /unknown command type/)
})
