// Starting a RedisBroker whose Redis is not there fails fast with the coded error.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RedisBroker } from '../../src/broker/redis/index.ts'
import { freePort } from '../support/redis.ts'

test('start rejects with SWB_ERR_BROKER_UNAVAILABLE within connectTimeout when Redis is unreachable', async () => {
  const port = await freePort()
  const broker = new RedisBroker({ url: `redis://127.0.0.1:${port}`, connectTimeout: 300 })
  const t0 = Date.now()
  await assert.rejects(
    broker.start({ onPublication() {}, onJoin() {}, onLeave() {}, onControl() {} }),
    { code: 'SWB_ERR_BROKER_UNAVAILABLE' },
  )
  assert.ok(Date.now() - t0 < 2_000, `rejected after ${Date.now() - t0} ms`)
  await broker.close()
})

test('options are validated with a message that names the option', () => {
  assert.throws(() => new RedisBroker({}), /exactly one of url, cluster and client/)
  assert.throws(
    () => new RedisBroker({ url: 'redis://127.0.0.1:1', commandTimeout: 0 }),
    /commandTimeout must be a positive integer/,
  )
  assert.throws(() => new RedisBroker({ url: 'redis://127.0.0.1:1', prefix: 'a b' }), /prefix/)
})
