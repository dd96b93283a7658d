// Live delivery of the Redis broker over a real redis-server: holes filled from the stream,
// interest routing counted in bytes, and publications surviving a network cut of the subscriber.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { createClient } from 'redis'
import type { BrokerHandler, ControlMessage } from '../../src/broker/broker.ts'
import { packBody } from '../../src/broker/redis/codec.ts'
import { RedisBroker } from '../../src/broker/redis/index.ts'
import { PUBLISH_SCRIPT } from '../../src/broker/redis/scripts.ts'
import type { ClientInfo, Publication } from '../../src/protocol/index.ts'
import { RedisServer, redisSkipReason } from '../support/redis.ts'
import { TcpProxy } from '../support/tcp-proxy.ts'

const skip = redisSkipReason()
const history = { size: 100, ttl: 60_000 }
let n = 0
const prefix = () => `live${process.pid}x${++n}`

class Recorder implements BrokerHandler {
  pubs: { channel: string; pub: Publication; epoch: string }[] = []
  onPublication(channel: string, pub: Publication, epoch: string): void {
    this.pubs.push({ channel, pub, epoch })
  }
  onJoin(_c: string, _i: ClientInfo): void {}
  onLeave(_c: string, _i: ClientInfo): void {}
  onControl(_m: ControlMessage): void {}
  offsets(channel: string): number[] {
    return this.pubs.filter((p) => p.channel === channel).map((p) => p.pub.offset)
  }
}

/** Publishes through the broker's own script with EXISTS standing in for PUBLISH: the
 * publication is stored, its Pub/Sub message never leaves Redis (as when Pub/Sub drops one). */
async function publishUnannounced(
  url: string,
  p: string,
  channel: string,
  data: unknown,
  size: number,
): Promise<void> {
  const raw = createClient({ url })
  await raw.connect()
  try {
    const meta = `${p}:{c:${channel}}:m`
    await raw.eval(PUBLISH_SCRIPT, {
      keys: [meta, `${p}:{c:${channel}}:s`, meta],
      arguments: [
        packBody(data, undefined, undefined),
        String(size),
        '60000',
        '0',
        `${p}:{c:${channel}}`,
        'unused0000',
        '3600000',
        'EXISTS',
      ],
    })
  } finally {
    raw.destroy()
  }
}

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await sleep(10)
  }
}

describe('RedisBroker live delivery', { skip }, () => {
  let server: RedisServer
  before(async () => {
    server = await RedisServer.start(['--enable-debug-command', 'yes'])
  })
  after(() => server.stop())

  test('a publication whose Pub/Sub message was lost is read from the stream and delivered in order before the next', async () => {
    const p = prefix()
    const rec = new Recorder()
    const broker = new RedisBroker({ url: server.url, prefix: p })
    try {
      await broker.start(rec)
      await broker.subscribe('h:1')
      await broker.publish('h:1', 'one', { history })
      await publishUnannounced(server.url, p, 'h:1', 'two', 100)
      await broker.publish('h:1', 'three', { history })
      await until(() => rec.pubs.length === 3)
      assert.deepEqual(
        rec.pubs.map((x) => [x.pub.offset, x.pub.data]),
        [
          [1, 'one'],
          [2, 'two'],
          [3, 'three'],
        ],
      )
      assert.deepEqual(broker.liveStats, { holes: 1, filled: 1, unfilled: 0 })
    } finally {
      await broker.close()
    }
  })

  test("the publishing node's own subscribers get a publication when publish answers, and its Pub/Sub echo is not delivered again", async () => {
    const rec = new Recorder()
    const broker = new RedisBroker({ url: server.url, prefix: prefix() })
    try {
      await broker.start(rec)
      await broker.subscribe('own:1')
      for (let i = 1; i <= 20; i++) {
        const r = await broker.publish('own:1', i, {
          history,
          info: { user: 'u', client: 'c' },
          key: 'k',
        })
        assert.equal(rec.pubs.at(-1)?.pub.offset, r.offset, 'delivered before publish answered')
      }
      await sleep(200)
      assert.deepEqual(
        rec.offsets('own:1'),
        Array.from({ length: 20 }, (_, i) => i + 1),
      )
      const last = rec.pubs.at(-1)!.pub
      assert.deepEqual(
        [last.data, last.info, last.key, typeof last.time],
        [20, { user: 'u', client: 'c' }, 'k', 'number'],
      )
    } finally {
      await broker.close()
    }
  })

  test('a channel written under another master replication id starts a new epoch, so no offset is reused after a failover', async () => {
    const rec = new Recorder()
    const broker = new RedisBroker({ url: server.url, prefix: prefix() })
    try {
      await broker.start(rec)
      await broker.subscribe('fo:1')
      const first = await broker.publish('fo:1', 'a', { history })
      await broker.publish('fo:1', 'b', { history })
      // What a promoted replica (or a restarted master) looks like to the script: another id.
      server.cli('DEBUG', 'CHANGE-REPL-ID')
      const next = await broker.publish('fo:1', 'c', { history })
      assert.notEqual(next.epoch, first.epoch)
      assert.equal(next.offset, 1)
      const h = await broker.history('fo:1', { since: { offset: 2, epoch: first.epoch } })
      assert.deepEqual([h.epoch, h.offset, h.publications.length], [next.epoch, 1, 0])
      // Once started, the new epoch holds while the id stays the same.
      const after = await broker.publish('fo:1', 'd', { history })
      assert.deepEqual([after.epoch, after.offset], [next.epoch, 2])
    } finally {
      await broker.close()
    }
  })

  test('a hole the stream no longer holds is passed on as a hole for the hub to mark as a gap', async () => {
    const p = prefix()
    const rec = new Recorder()
    const broker = new RedisBroker({ url: server.url, prefix: p })
    try {
      await broker.start(rec)
      await broker.subscribe('h:2')
      await broker.publish('h:2', 'one', { history: { size: 1, ttl: 60_000 } })
      for (const data of ['two', 'three']) await publishUnannounced(server.url, p, 'h:2', data, 1)
      await broker.publish('h:2', 'four', { history: { size: 1, ttl: 60_000 } })
      await until(() => rec.offsets('h:2').includes(4))
      // 2 and 3 were trimmed (size 1) before the hole was seen: delivery goes on at 4, the
      // hub sees 1 then 4 and writes a gap for 2..3.
      assert.deepEqual(rec.offsets('h:2'), [1, 4])
      assert.equal(broker.liveStats.unfilled, 1)
    } finally {
      await broker.close()
    }
  })

  test('a node with no subscriber on a channel receives none of its bytes from Redis', async () => {
    const p = prefix()
    const proxyA = await TcpProxy.start(server.port)
    const proxyB = await TcpProxy.start(server.port)
    const a = new RedisBroker({ url: proxyA.url, prefix: p })
    const b = new RedisBroker({ url: proxyB.url, prefix: p })
    const recA = new Recorder()
    const recB = new Recorder()
    try {
      await a.start(recA)
      await b.start(recB)
      await a.subscribe('route:hot')
      await b.subscribe('route:other')
      const marker = 'MARKER-7f3a'
      for (let i = 0; i < 200; i++) await a.publish('route:hot', `${marker}-${i}`, { history })
      await until(() => recA.pubs.length === 200)
      await sleep(100)
      assert.equal(proxyA.count(marker), 200, 'A gets each publication once, by Pub/Sub')
      assert.equal(proxyB.count(marker), 0, 'B receives no publication bytes of route:hot')
      assert.equal(proxyB.count('route:hot'), 0, 'B receives not even the topic name')
      assert.equal(recB.pubs.length, 0)
      // After B subscribes and unsubscribes again, the same holds.
      await b.subscribe('route:hot')
      await b.publish('route:hot', 'seen', { history })
      await until(() => recB.pubs.length === 1)
      await b.unsubscribe('route:hot')
      const before = proxyB.count(marker)
      for (let i = 0; i < 20; i++) await a.publish('route:hot', `${marker}-late-${i}`, { history })
      await until(() => recA.pubs.length === 221)
      await sleep(100)
      assert.equal(proxyB.count(marker), before)
    } finally {
      await a.close()
      await b.close()
      await proxyA.close()
      await proxyB.close()
    }
  })

  test('publications made while a subscriber node was cut from Redis are caught up when it reconnects', async () => {
    const p = prefix()
    const proxy = await TcpProxy.start(server.port)
    const sub = new RedisBroker({
      url: proxy.url,
      prefix: p,
      healthInterval: 200,
      healthTimeout: 600,
    })
    const pub = new RedisBroker({ url: server.url, prefix: p })
    const rec = new Recorder()
    try {
      await sub.start(rec)
      await pub.start(new Recorder())
      await sub.subscribe('cut:1')
      for (let i = 1; i <= 5; i++) await pub.publish('cut:1', i, { history })
      await until(() => rec.pubs.length === 5)
      proxy.cut()
      for (let i = 6; i <= 15; i++) await pub.publish('cut:1', i, { history })
      // Some arrive live once Pub/Sub is back, the rest are read back by the catch-up; each once.
      await until(() => rec.pubs.length === 15, 10_000)
      assert.deepEqual(
        rec.offsets('cut:1'),
        Array.from({ length: 15 }, (_, i) => i + 1),
      )
      assert.deepEqual(
        rec.pubs.map((x) => x.pub.data),
        Array.from({ length: 15 }, (_, i) => i + 1),
      )
    } finally {
      await sub.close()
      await pub.close()
      await proxy.close()
    }
  })
})
