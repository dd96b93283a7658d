import assert from 'node:assert/strict'
import { test } from 'node:test'
import { checkCommand, MAX_DATA_DEPTH, ProtocolDecodeError } from './codec.ts'
import { jsonCodec } from './json.ts'
import { msgpackCodec } from './msgpack.ts'

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth)

test('a publish whose data nests deeper than MAX_DATA_DEPTH is not a command (JSON, 5,000 deep)', () => {
  const text = `{"id":1,"type":"publish","channel":"a","data":${nested(5000)}}`
  // JSON.parse takes it, but encoding it again overflows the stack: it must never be stored.
  assert.throws(() => JSON.stringify(JSON.parse(text)), RangeError)
  assert.throws(() => checkCommand(jsonCodec.decode(text)), ProtocolDecodeError)
})

test('data nested exactly MAX_DATA_DEPTH levels is accepted, one more is refused', () => {
  const ok = `{"id":1,"type":"rpc","method":"m","data":${nested(MAX_DATA_DEPTH)}}`
  assert.equal(checkCommand(jsonCodec.decode(ok)).type, 'rpc')
  const deep = `{"id":1,"type":"rpc","method":"m","data":{"a":${nested(MAX_DATA_DEPTH)}}}`
  assert.throws(() => checkCommand(jsonCodec.decode(deep)), /deeper than 128 levels/)
})

test('deep MessagePack data is refused too, and wide flat data is not mistaken for depth', () => {
  let data: unknown = 1
  for (let i = 0; i < 1000; i++) data = [data]
  const bytes = msgpackCodec.encode({ id: 1, type: 'publish', channel: 'a', data } as never)
  assert.throws(() => checkCommand(msgpackCodec.decode(bytes)), ProtocolDecodeError)
  const wide = {
    id: 1,
    type: 'publish',
    channel: 'a',
    data: { rows: Array(10_000).fill({ x: [1] }) },
  }
  assert.equal(
    checkCommand(msgpackCodec.decode(msgpackCodec.encode(wide as never))).type,
    'publish',
  )
  const bin = { id: 1, type: 'publish', channel: 'a', data: new Uint8Array(100_000) }
  assert.equal(checkCommand(msgpackCodec.decode(msgpackCodec.encode(bin as never))).type, 'publish')
})
