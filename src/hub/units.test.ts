import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MAX_CHANNEL_LENGTH, parseChannel } from './channel.ts'
import { Hub } from './hub.ts'
import { resolveNamespace } from './namespace.ts'
import { Outbox } from './outbox.ts'
import type { Frame } from './transport.ts'
import { utf8Length } from './transport.ts'
import { closeReason } from './ws-transport.ts'

test('channel names follow the documented grammar and length limit', () => {
  assert.deepEqual(parseChannel('chat:room-42'), { name: 'chat:room-42', namespace: 'chat' })
  assert.deepEqual(parseChannel('lobby'), { name: 'lobby', namespace: '' })
  assert.deepEqual(parseChannel('ticker:EUR/USD'), { name: 'ticker:EUR/USD', namespace: 'ticker' })
  assert.deepEqual(parseChannel('user:42:inbox'), { name: 'user:42:inbox', namespace: 'user' })
  assert.equal(parseChannel('a'.repeat(MAX_CHANNEL_LENGTH))?.namespace, '')
  for (const bad of [
    '',
    ':x',
    'chat:',
    'a b',
    'a,b',
    'a\nb',
    'é',
    'a?b',
    'a#b',
    'a+b',
    'a'.repeat(MAX_CHANNEL_LENGTH + 1),
    5,
  ]) {
    assert.equal(parseChannel(bad), null, String(bad).slice(0, 10))
  }
})

test('namespace options are validated once with a message naming the option', () => {
  const ns = resolveNamespace('chat', {})
  assert.deepEqual(
    [ns.history.size, ns.history.ttl, ns.slowConsumer, ns.clientPublish],
    [100, 300_000, 'disconnect', false],
  )
  assert.ok(Object.isFrozen(ns))
  assert.throws(() => resolveNamespace('chat', { historySize: -1 }), /historySize/)
  assert.throws(() => resolveNamespace('chat', { slowConsumer: 'pray' as never }), /slowConsumer/)
  assert.throws(() => resolveNamespace('chat', { joinLeave: true }), /joinLeave/)
  assert.throws(() => resolveNamespace('chat', { schema: {} as never }), /schema/)
  assert.throws(() => resolveNamespace('bad name', {}), /name/)
})

function pub(channel: string, offset: number, key?: string): Frame {
  return {
    data: new Uint8Array(10),
    byteLength: 10,
    publication: true,
    channel,
    offset,
    epoch: 'e',
    ...(key ? { key } : null),
  }
}

test('the outbox counts bytes, drops the oldest allowed frame and conflates by key', () => {
  const o = new Outbox()
  const reply: Frame = { data: new Uint8Array(5), byteLength: 5, publication: false }
  o.push(reply)
  o.push(pub('a', 1, 'k'))
  o.push(pub('a', 2, 'j'))
  o.push(pub('a', 3, 'k'))
  assert.deepEqual([o.length, o.bytes, o.publications], [4, 35, 3])
  const policy = { droppable: (f: Frame) => f.publication }
  assert.equal(o.dropOldest(policy)?.offset, 1)
  assert.equal(o.takeConflated('a', 'k')?.offset, 3)
  assert.equal(o.takeConflated('a', 'k'), null)
  assert.deepEqual(
    o.take().map((f) => f.offset ?? 'reply'),
    ['reply', 2],
  )
  assert.deepEqual([o.length, o.bytes, o.publications], [0, 0, 0])
})

test('the outbox array stays proportional to what it holds under constant dropping', () => {
  const o = new Outbox()
  const policy = { droppable: () => true }
  for (let i = 0; i < 100_000; i++) {
    o.push(pub('a', i, `k${i % 7}`))
    if (o.length > 50) o.dropOldest(policy)
    if (i % 3 === 0) o.takeConflated('a', `k${i % 7}`)
  }
  assert.ok(o.length <= 50)
  assert.ok(o.bytes === o.length * 10)
  assert.ok(
    o.take().every((f, i, all) => i === 0 || f.offset! > all[i - 1]!.offset!),
    'order kept',
  )
})

test('utf8Length counts UTF-8 bytes without encoding', () => {
  for (const s of ['', 'abc', 'é', '€', '😀', 'a\u0800b', '\ud800', 'x\udc00y', '\ud800\ud800']) {
    assert.equal(utf8Length(s), Buffer.byteLength(s), JSON.stringify(s))
  }
})

test('a namespace is declared once; the default one may be configured', async () => {
  const hub = new Hub({ namespaces: { '': { historySize: 5 }, chat: {} } })
  try {
    assert.throws(() => hub.namespace('chat', {}), /already declared/)
    assert.throws(() => hub.namespace('', {}), /already declared/)
    assert.equal(hub.namespace('extra', { presence: true }).presence, true)
  } finally {
    await hub.close()
  }
})

test('a WebSocket close reason is cut to 123 bytes on a character boundary', () => {
  assert.equal(closeReason('short'), 'short')
  const cut = closeReason('é'.repeat(100))
  assert.equal(Buffer.byteLength(cut), 122)
  assert.equal(cut, 'é'.repeat(61))
})
