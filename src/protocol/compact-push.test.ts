import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  type GapPush,
  jsonCodec,
  msgpackCodec,
  type PublicationPush,
  readServerMessage,
  toWireMessage,
} from './index.ts'

// Values as JSON gives them back: JSON has no -0 (it writes 0), at any depth. No `__proto__`
// key either: msgpackr renames it `__proto_` when it decodes (its guard against prototype
// pollution), whatever the form of the push around it.
const json = fc
  .jsonValue()
  .map((v) => JSON.parse(JSON.stringify(v)) as unknown)
  .filter((v) => !JSON.stringify(v).includes('"__proto__"'))

const push: fc.Arbitrary<PublicationPush> = fc
  .record(
    {
      channel: fc.string({ maxLength: 20 }),
      offset: fc.nat(),
      epoch: fc.string({ maxLength: 12 }),
      data: json,
      info: fc.record(
        { user: fc.string({ maxLength: 5 }), client: fc.string({ maxLength: 5 }), info: json },
        { requiredKeys: ['user', 'client'], noNullPrototype: true },
      ),
      key: fc.string({ maxLength: 8 }),
      time: fc.nat(),
    },
    { requiredKeys: ['channel', 'offset', 'data'] },
  )
  .map((p) => ({ type: 'publication', ...p }) as PublicationPush)

test('a publication push survives its compact form through JSON and MessagePack, every optional field included', () => {
  fc.assert(
    fc.property(push, (p) => {
      for (const codec of [jsonCodec, msgpackCodec]) {
        const back = readServerMessage(codec.decode(codec.encode(toWireMessage(p))))
        assert.deepEqual(back, p, codec.name)
      }
    }),
  )
})

test('the compact form is [channel, offset, data] and adds an extras object only when needed', () => {
  const lean: PublicationPush = { type: 'publication', channel: 'chat:a', offset: 7, data: 'hi' }
  assert.equal(new TextDecoder().decode(jsonCodec.encode(toWireMessage(lean))), '["chat:a",7,"hi"]')
  assert.equal(
    new TextDecoder().decode(
      jsonCodec.encode(toWireMessage({ ...lean, epoch: 'e1', key: 'k' } as PublicationPush)),
    ),
    '["chat:a",7,"hi",{"epoch":"e1","key":"k"}]',
  )
})

test('every other message keeps its object form', () => {
  const gap: GapPush = { type: 'gap', channel: 'c:a', epoch: 'e', from: 1, to: 2, count: 2 }
  assert.equal(toWireMessage(gap), gap)
  const reply = { id: 3, result: { offset: 1, epoch: 'e' } }
  assert.equal(toWireMessage(reply), reply)
  assert.equal(readServerMessage(reply), reply)
})

test('a malformed compact push or a value that is no server message reads as undefined', () => {
  const bad: unknown[] = [
    ['c:a', 1],
    ['c:a', 1, 'x', {}, 5],
    [1, 1, 'x'],
    ['c:a', -1, 'x'],
    ['c:a', 1.5, 'x'],
    ['c:a', '1', 'x'],
    ['c:a', 1, 'x', null],
    ['c:a', 1, 'x', []],
    ['c:a', 1, 'x', 'epoch'],
    ['c:a', 1, 'x', { epoch: 5 }],
    ['c:a', 1, 'x', { key: 5 }],
    ['c:a', 1, 'x', { time: '5' }],
    ['c:a', 1, 'x', { info: 'someone' }],
    null,
    7,
    'publication',
    { channel: 'c:a' },
  ]
  for (const value of bad) assert.equal(readServerMessage(value), undefined, JSON.stringify(value))
})
