import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { GapPush, PublicationPush, SubscribeResult } from '../protocol/index.ts'
import { Hub } from './hub.ts'
import type { SlowConsumerPolicy } from './namespace.ts'
import { TestClient, turn } from './test-utils/test-client.ts'

const LIMIT = 4096

async function blockedSubscriber(policy: SlowConsumerPolicy): Promise<{ hub: Hub; c: TestClient }> {
  const hub = new Hub({
    maxOutboxBytes: LIMIT,
    namespaces: { s: { slowConsumer: policy, historySize: 1000 } },
  })
  const c = await TestClient.connect(hub)
  await c.request({ type: 'subscribe', channel: 's:feed' })
  c.transport.accept = false // the peer stops reading: every write from now on reports backpressure
  await hub.publish('s:feed', { i: 0, pad: 'x'.repeat(40) })
  await turn()
  assert.equal(c.session.blocked, true)
  return { hub, c }
}

test('drop-oldest keeps the outbox under its limit, counts drops and sends a gap marker for the lost range', async () => {
  const { hub, c } = await blockedSubscriber('drop-oldest')
  try {
    let peak = 0
    for (let i = 1; i <= 500; i++) {
      await hub.publish('s:feed', { i, pad: 'x'.repeat(40) })
      peak = Math.max(peak, c.session.outbox.bytes)
    }
    assert.ok(peak <= LIMIT, `outbox peaked at ${peak} bytes`)
    assert.ok(c.session.dropped > 0)
    assert.equal(hub.stats.dropped, c.session.dropped)
    const seen = c.transport.messages.length
    c.transport.accept = true
    c.session.drain()
    await turn()
    const after = c.transport.messages.slice(seen)
    const gap = after[0] as GapPush
    assert.equal(gap.type, 'gap')
    assert.equal(gap.channel, 's:feed')
    assert.equal(gap.from, 2)
    assert.equal(gap.count, c.session.dropped)
    const pubs = after.slice(1) as PublicationPush[]
    assert.equal(pubs[0]!.offset, gap.to + 1, 'delivery resumes right after the lost range')
    assert.equal(pubs.at(-1)!.offset, 501)
    assert.equal(gap.to - gap.from + 1 + pubs.length, 500)
  } finally {
    await hub.close()
  }
})

test('conflate keeps only the latest queued publication per key and reports what it replaced', async () => {
  const { hub, c } = await blockedSubscriber('conflate')
  try {
    const keys = ['EUR', 'USD', 'JPY']
    for (let i = 1; i <= 300; i++) {
      const key = keys[i % 3]!
      await hub.publish('s:feed', { key, px: i }, { key })
      assert.ok(c.session.outbox.bytes <= LIMIT)
    }
    assert.equal(c.session.outbox.length, 3, 'one queued publication per key')
    assert.equal(c.session.dropped, 297)
    const seen = c.transport.messages.length
    c.transport.accept = true
    c.session.drain()
    await turn()
    const after = c.transport.messages.slice(seen)
    const gap = after[0] as GapPush
    assert.deepEqual([gap.type, gap.channel, gap.from, gap.count], ['gap', 's:feed', 2, 297])
    const latest = (after.slice(1) as PublicationPush[]).map((p) => p.data)
    assert.deepEqual(latest, [
      { key: 'USD', px: 298 },
      { key: 'JPY', px: 299 },
      { key: 'EUR', px: 300 },
    ])
  } finally {
    await hub.close()
  }
})

test('conflate falls back to dropping the oldest when distinct keys alone pass the limit', async () => {
  const { hub, c } = await blockedSubscriber('conflate')
  try {
    for (let i = 1; i <= 400; i++) {
      await hub.publish('s:feed', { i, pad: 'y'.repeat(40) }, { key: `k${i}` })
      assert.ok(c.session.outbox.bytes <= LIMIT)
    }
    assert.ok(c.session.dropped > 300)
  } finally {
    await hub.close()
  }
})

test('disconnect closes a slow consumer with 3001, frees its memory, and it resumes with since', async () => {
  const { hub, c } = await blockedSubscriber('disconnect')
  try {
    const last = c.pushes<PublicationPush>('publication').at(-1)!
    for (let i = 1; i <= 200 && !c.session.isClosed; i++)
      await hub.publish('s:feed', { i, pad: 'x'.repeat(40) })
    assert.equal(c.session.isClosed, true)
    assert.deepEqual(c.transport.closedWith, { code: 3001, reason: 'slow consumer' })
    const push = c.pushes('disconnect').at(-1)
    assert.deepEqual(push, {
      type: 'disconnect',
      code: 3001,
      reason: 'slow consumer',
      reconnect: true,
    })
    assert.equal(c.session.outbox.bytes, 0)
    assert.equal(hub.connectionCount, 0)
    assert.equal(hub.channelCount, 0)
    assert.ok(c.session.dropped > 1, 'the queued publications count as dropped too')
    assert.equal(hub.stats.dropped, c.session.dropped)
    const again = await TestClient.connect(hub)
    const r = (
      await again.request<SubscribeResult>({
        type: 'subscribe',
        channel: 's:feed',
        // The channel's first publication named the epoch; later ones leave it out.
        since: { offset: last.offset, epoch: c.pushes<PublicationPush>('publication')[0]!.epoch! },
      })
    ).result!
    assert.equal(r.recovered, true)
    assert.equal(r.publications!.length, r.offset - last.offset)
  } finally {
    await hub.close()
  }
})

test('a client that never reads its replies is disconnected before its outbox passes twice the limit', async () => {
  const hub = new Hub({ maxOutboxBytes: 1024 })
  hub.rpc('big', () => 'z'.repeat(200))
  try {
    const c = await TestClient.connect(hub)
    c.transport.accept = false
    c.send({ type: 'ping' })
    await turn()
    for (let i = 0; i < 100 && !c.session.isClosed; i++) {
      c.send({ type: 'rpc', method: 'big' })
      await turn(1)
      assert.ok(c.session.outbox.bytes <= 2 * 1024 + 300)
    }
    assert.equal(c.session.isClosed, true)
    assert.equal(c.transport.closedWith?.code, 3001)
  } finally {
    await hub.close()
  }
})
