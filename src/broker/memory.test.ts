import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isRecovered } from './broker.ts'
import { MemoryBroker, MemoryCluster } from './memory.ts'
import { runBrokerCases } from './test-utils/broker.case.ts'

runBrokerCases('memory', () => new MemoryBroker())

const noop = { onPublication() {}, onJoin() {}, onLeave() {}, onControl() {} }
const history = { size: 10, ttl: 60_000 }

test('a restarted memory broker serves the same channel under a new epoch', async () => {
  const first = new MemoryBroker()
  await first.start(noop)
  const before = await first.publish('chat:a', 'x', { history })
  await first.close()
  const second = new MemoryBroker()
  await second.start(noop)
  const h = await second.history('chat:a', { since: before })
  assert.notEqual(h.epoch, before.epoch)
  assert.ok(!isRecovered(before, h))
  await second.close()
})

test('an idle stream is forgotten after streamIdleTtl and comes back with a new epoch', async () => {
  let now = 1_000
  const broker = new MemoryBroker({ streamIdleTtl: 100, now: () => now })
  await broker.start(noop)
  const a = await broker.publish('idle', 1, { history: { size: 10, ttl: 50 } })
  now += 200
  broker.sweep()
  assert.equal(broker.streamCount, 0)
  const b = await broker.publish('idle', 2, { history })
  assert.notEqual(a.epoch, b.epoch)
  await broker.close()
})

test('a stream with a local subscriber is kept even when idle', async () => {
  let now = 1_000
  const broker = new MemoryBroker({ streamIdleTtl: 100, now: () => now })
  await broker.start(noop)
  await broker.subscribe('kept')
  await broker.publish('kept', 1, { history: { size: 10, ttl: 50 } })
  now += 500
  broker.sweep()
  assert.equal(broker.streamCount, 1)
  await broker.close()
})

test('idempotency keys are bounded by maxIdempotencyKeys', async () => {
  const broker = new MemoryBroker({ maxIdempotencyKeys: 3 })
  await broker.start(noop)
  for (let i = 0; i < 10; i++) await broker.publish('k', i, { idempotencyKey: `key-${i}` })
  assert.equal(broker.idempotencyKeyCount, 3)
  await broker.close()
})

test('memory broker options are validated with a message naming the option', () => {
  assert.throws(() => new MemoryBroker({ sweepInterval: 0 }), /sweepInterval/)
})

test('brokers of one MemoryCluster share streams and deliver to every subscribed node', async () => {
  const cluster = new MemoryCluster()
  const seen: string[] = []
  const node = (name: string) => ({
    ...noop,
    onPublication(channel: string, pub: { offset: number }) {
      seen.push(`${name}:${channel}:${pub.offset}`)
    },
  })
  const a = new MemoryBroker({ cluster })
  const b = new MemoryBroker({ cluster })
  await a.start(node('a'))
  await b.start(node('b'))
  await a.subscribe('x')
  await b.subscribe('x')
  const first = await a.publish('x', 1, { history })
  const second = await b.publish('x', 2, { history })
  assert.deepEqual([first.offset, second.offset, first.epoch], [1, 2, second.epoch])
  assert.deepEqual(seen.sort(), ['a:x:1', 'a:x:2', 'b:x:1', 'b:x:2'])
  await a.addPresence('x', { user: 'u', client: 'c' })
  assert.equal(await b.presenceCount('x'), 1)
  await a.close()
  await b.publish('x', 3, { history })
  assert.equal(seen.filter((s) => s.startsWith('a:')).length, 2, 'a closed node gets nothing')
  await b.close()
})

test('streams are capped: idle empty ones are forgotten first, kept ones survive', async () => {
  const broker = new MemoryBroker({ maxStreams: 10 })
  await broker.start(noop)
  await broker.subscribe('watched')
  const watched = await broker.history('watched', { limit: 0 })
  const kept = await broker.publish('kept', 1, { history })
  for (let i = 0; i < 100; i++) await broker.history(`probe-${i}`, { limit: 0 })
  assert.ok(broker.streamCount <= 10, `${broker.streamCount} streams`)
  assert.equal((await broker.history('watched', { limit: 0 })).epoch, watched.epoch)
  const h = await broker.history('kept')
  assert.deepEqual([h.epoch, h.publications.length], [kept.epoch, 1])
  await broker.close()
})
