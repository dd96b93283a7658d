import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { isLoopback, Limiter, TokenBucket } from './limits.ts'

describe('token bucket', () => {
  test('allows a burst of twice the rate, then the rate as time passes', () => {
    const b = new TokenBucket(5, 0)
    let taken = 0
    while (b.take(5, 0)) taken++
    assert.equal(taken, 10)
    assert.equal(b.take(5, 100), false) // half a token
    assert.equal(b.take(5, 200), true) // one token after 200 ms at 5/s
    assert.equal(b.full(5, 200), false)
    assert.equal(b.full(5, 3000), true)
  })
})

describe('limiter', () => {
  test('every limit has a default, and a bad option is refused with a coded error', () => {
    const l = new Limiter()
    assert.deepEqual(l.settings, {
      connectionsPerIp: 1000,
      connectionsPerUser: 100,
      connectsPerIpPerSecond: 50,
      publishesPerSecond: 100,
      publishesPerUserPerSecond: 500,
      rpcPerSecond: 100,
      rpcPerUserPerSecond: 500,
    })
    for (const bad of [0, -1, 1.5, Number.NaN, '10']) {
      assert.throws(() => new Limiter({ connectionsPerIp: bad as number }), {
        code: 'SWB_ERR_INVALID_OPTION',
      })
    }
    assert.equal(new Limiter({ rpcPerSecond: Infinity }).settings.rpcPerSecond, Infinity)
  })

  test('counts open connections per address and refuses past the limit until one closes', () => {
    const l = new Limiter({ connectionsPerIp: 2 })
    l.admit('10.0.0.1', 0)
    l.admit('10.0.0.1', 0)
    assert.throws(() => l.admit('10.0.0.1', 0), { code: 'SWB_ERR_LIMIT_CONNECTIONS', status: 429 })
    l.admit('10.0.0.2', 0) // another address is not affected
    l.release('10.0.0.1')
    l.admit('10.0.0.1', 0)
    assert.equal(l.refused.connectionsPerIp, 1)
  })

  test('refuses connects past the per-address rate, and admits again as tokens come back', () => {
    const l = new Limiter({ connectsPerIpPerSecond: 2 })
    for (let i = 0; i < 4; i++) {
      l.admit('10.0.0.1', 0)
      l.release('10.0.0.1')
    }
    assert.throws(() => l.admit('10.0.0.1', 0), { code: 'SWB_ERR_LIMIT_CONNECT_RATE' })
    l.admit('10.0.0.1', 500)
    assert.equal(l.refused.connectsPerIp, 1)
  })

  test('does not limit loopback addresses unless asked to', () => {
    const l = new Limiter({ connectionsPerIp: 1 })
    for (let i = 0; i < 5; i++) l.admit('127.0.0.1', 0)
    assert.equal(l.tracked.addresses, 0)
    const strict = new Limiter({ connectionsPerIp: 1, limitLoopback: true })
    strict.admit('::1', 0)
    assert.throws(() => strict.admit('::1', 0), { code: 'SWB_ERR_LIMIT_CONNECTIONS' })
    assert.ok(isLoopback('::ffff:127.0.0.1') && isLoopback('127.8.9.10') && !isLoopback('10.0.0.1'))
  })

  test('refuses a user’s connection past its limit; anonymous users have none', () => {
    const l = new Limiter({ connectionsPerUser: 2 })
    l.admitUser('u', 1)
    assert.throws(() => l.admitUser('u', 2), { code: 'SWB_ERR_LIMIT_CONNECTIONS' })
    l.admitUser('', 10_000)
    assert.equal(l.refused.connectionsPerUser, 1)
  })

  test('rate-limits publishes per session and per user, and rpc on its own buckets', () => {
    const l = new Limiter({ publishesPerSecond: 2, publishesPerUserPerSecond: 3, rpcPerSecond: 1 })
    const a = { buckets: null }
    const b = { buckets: null }
    for (let i = 0; i < 4; i++) l.take('publish', a, 'alice', 0)
    assert.throws(() => l.take('publish', a, 'alice', 0), { code: 'SWB_ERR_LIMIT_RATE' })
    // Alice's other session has its own session bucket but shares her user bucket (6 a burst).
    l.take('publish', b, 'alice', 0)
    l.take('publish', b, 'alice', 0)
    assert.throws(() => l.take('publish', b, 'alice', 0), { code: 'SWB_ERR_LIMIT_RATE' })
    // Bob and HTTP callers without a session are not affected by Alice.
    l.take('publish', { buckets: null }, 'bob', 0)
    l.take('publish', null, 'carol', 0)
    // Rpc calls have their own buckets.
    l.take('rpc', a, 'alice', 0)
    l.take('rpc', a, 'alice', 0)
    assert.throws(() => l.take('rpc', a, 'alice', 0), { code: 'SWB_ERR_LIMIT_RATE' })
    assert.deepEqual([l.refused.publishes, l.refused.rpc], [2, 1])
  })

  test('forgets idle addresses and users, so its maps stay bounded', () => {
    const l = new Limiter()
    for (let i = 0; i < 1000; i++) {
      l.admit(`10.0.${i >> 8}.${i & 255}`, 0)
      l.release(`10.0.${i >> 8}.${i & 255}`)
      l.take('publish', null, `user-${i}`, 0)
    }
    l.admit('10.9.9.9', 0) // still open: kept
    assert.deepEqual(l.tracked, { addresses: 1001, users: 1000 })
    l.sweep(60_000)
    assert.deepEqual(l.tracked, { addresses: 1, users: 0 })
  })
})
