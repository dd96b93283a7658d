import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  checkCommand,
  DisconnectCode,
  encodeSseId,
  isDisconnectCode,
  jsonCodec,
  msgpackCodec,
  ProtocolDecodeError,
  parseSseId,
  reconnectAllowed,
} from './index.ts'

test('disconnect codes tell the client to reconnect in 3000-3499 and to stop in 3500-3999', () => {
  for (const [name, code] of Object.entries(DisconnectCode)) {
    assert.ok(isDisconnectCode(code), name)
    assert.equal(reconnectAllowed(code), code < 3500, name)
  }
  assert.equal(reconnectAllowed(4000), true)
  assert.equal(reconnectAllowed(1006), true)
  assert.equal(isDisconnectCode(1000), false)
  assert.equal(isDisconnectCode(5000), false)
})

test('JSON and MessagePack codecs round-trip every message shape', () => {
  const messages = [
    { id: 1, type: 'subscribe', channel: 'chat:a', since: { offset: 3, epoch: 'e1' } },
    { id: 2, result: { offset: 1, epoch: 'e', recoverable: true } },
    { id: 3, error: { code: 'SWB_ERR_CHANNEL_FORBIDDEN', message: 'no' } },
    { type: 'publication', channel: 'c', epoch: 'e', offset: 9, data: { n: [1, 'é', null] } },
    { type: 'gap', channel: 'c', epoch: 'e', from: 2, to: 5, count: 4 },
    { type: 'disconnect', code: 3001, reason: 'slow', reconnect: true },
  ] as const
  for (const m of messages) {
    assert.deepEqual(jsonCodec.decode(jsonCodec.encode(m as never)), m)
    assert.deepEqual(msgpackCodec.decode(msgpackCodec.encode(m as never)), m)
  }
  const bin = msgpackCodec.decode(
    msgpackCodec.encode({ type: 'message', data: new Uint8Array([1, 2]) }),
  ) as {
    data: Uint8Array
  }
  assert.deepEqual([...bin.data], [1, 2])
  assert.equal(jsonCodec.subprotocol, 'switchboard.v1.json')
  assert.equal(msgpackCodec.subprotocol, 'switchboard.v1.msgpack')
})

test('decoders reject what is not one message with ProtocolDecodeError', () => {
  assert.throws(() => jsonCodec.decode('{'), ProtocolDecodeError)
  assert.throws(() => jsonCodec.decode(new Uint8Array([0xff, 0xfe])), ProtocolDecodeError)
  assert.throws(() => msgpackCodec.decode('text'), ProtocolDecodeError)
  assert.throws(() => msgpackCodec.decode(new Uint8Array([0x92, 0x01])), ProtocolDecodeError)
})

test('checkCommand accepts well-formed commands and names the first problem of others', () => {
  assert.deepEqual(checkCommand({ id: 1, type: 'ping' }), { id: 1, type: 'ping' })
  const refresh = { id: 2, type: 'refresh', token: 't', client: 'n1-a' }
  assert.deepEqual(checkCommand(refresh), refresh)
  const cases: [unknown, RegExp][] = [
    [[], /object/],
    [{ type: 'ping' }, /id/],
    [{ id: 0, type: 'ping' }, /id/],
    [{ id: 1.5, type: 'ping' }, /id/],
    [{ id: 1, type: 'launch' }, /unknown command type/],
    [{ id: 1, type: 'subscribe' }, /channel/],
    [{ id: 1, type: 'subscribe', channel: 'a', since: { offset: -1, epoch: 'e' } }, /since/],
    [{ id: 1, type: 'publish', channel: 'a' }, /data/],
    [{ id: 1, type: 'publish', channel: 'a', data: 1, idempotencyKey: 5 }, /idempotencyKey/],
    [{ id: 1, type: 'rpc' }, /method/],
    [{ id: 1, type: 'refresh' }, /token/],
    [{ id: 1, type: 'refresh', token: 't', client: 7 }, /client/],
    [{ id: 1, type: 'history', channel: 'a', limit: 'x' }, /limit/],
  ]
  for (const [value, message] of cases) assert.throws(() => checkCommand(value), message)
})

test('an SSE id carries the cursor of every channel, by URL index or by name', () => {
  const id = encodeSseId(
    [
      { channel: 'chat:a', offset: 100, epoch: 'k3j9a' },
      { channel: 'news', offset: 0, epoch: 'k3j9a' },
      { channel: 'user:42:inbox', offset: 7, epoch: 'Zz_-9' },
    ],
    ['chat:a', 'news'],
  )
  assert.equal(id, '1,0.2s.k3j9a,1.0.k3j9a,~user:42:inbox.7.Zz_-9')
  const back = parseSseId(id, ['chat:a', 'news'])
  assert.deepEqual(
    [...back!],
    [
      ['chat:a', { offset: 100, epoch: 'k3j9a' }],
      ['news', { offset: 0, epoch: 'k3j9a' }],
      ['user:42:inbox', { offset: 7, epoch: 'Zz_-9' }],
    ],
  )
})

test('malformed or foreign Last-Event-IDs parse to null', () => {
  for (const bad of [
    '',
    '2,0.1.e',
    '1,0.1',
    '1,9.1.e',
    '1,0.1.e,0.2.e',
    '1,0.-1.e',
    '1,0.1.e.x',
    'x'.repeat(9000),
    '1,~.1.e',
  ]) {
    assert.equal(parseSseId(bad, ['a']), null, JSON.stringify(bad.slice(0, 20)))
  }
  assert.deepEqual(parseSseId('1', ['a']), new Map())
  assert.throws(() => encodeSseId([{ channel: 'a', offset: 1, epoch: 'bad.epoch' }]), /epoch/)
})

test('SSE ids round-trip for any set of cursors', () => {
  const name = fc.stringMatching(/^[A-Za-z0-9_\-.:@=/]{1,20}$/)
  const epoch = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/)
  fc.assert(
    fc.property(
      fc.uniqueArray(
        fc.record({ channel: name, offset: fc.nat({ max: Number.MAX_SAFE_INTEGER }), epoch }),
        {
          selector: (c) => c.channel,
          maxLength: 8,
        },
      ),
      fc.nat({ max: 8 }),
      (cursors, inUrl) => {
        const url = cursors.slice(0, inUrl).map((c) => c.channel)
        const parsed = parseSseId(encodeSseId(cursors, url), url)
        assert.deepEqual(
          parsed,
          new Map(cursors.map((c) => [c.channel, { offset: c.offset, epoch: c.epoch }])),
        )
      },
    ),
  )
})
