import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Backoff, shouldReconnect } from './backoff.ts'

test('each delay lies in [0, min(max, min * factor^n)] (full jitter)', () => {
  const b = new Backoff({ minDelay: 100, maxDelay: 5000, factor: 2 })
  for (let round = 0; round < 200; round++) {
    b.reset()
    for (let n = 0; n < 12; n++) {
      const d = b.next()
      const ceiling = Math.min(5000, 100 * 2 ** n)
      assert.ok(d >= 0 && d <= ceiling, `attempt ${n}: ${d} outside [0, ${ceiling}]`)
    }
  }
})

test('delays spread over the whole window rather than bunching at its edges', () => {
  const b = new Backoff({ minDelay: 1000, maxDelay: 1000, factor: 2 })
  const n = 4000
  const buckets = [0, 0, 0, 0]
  let sum = 0
  for (let i = 0; i < n; i++) {
    const d = b.next()
    sum += d
    buckets[Math.min(3, Math.floor(d / 250))]!++
  }
  const mean = sum / n
  assert.ok(mean > 450 && mean < 550, `mean ${mean} not near 500`)
  for (const count of buckets) assert.ok(count > n * 0.2 && count < n * 0.3, `bucket ${count}`)
})

test('the ceiling grows by the factor and stops at maxDelay', () => {
  const b = new Backoff({ minDelay: 500, maxDelay: 20_000, factor: 2, random: () => 0.999999 })
  const delays = Array.from({ length: 8 }, () => b.next())
  assert.deepEqual(delays, [499, 999, 1999, 3999, 7999, 15_999, 19_999, 19_999])
  b.reset()
  assert.equal(b.next(), 499)
})

test('a delay advertised by the server is a floor under the jitter', () => {
  const b = new Backoff({ minDelay: 100, maxDelay: 1000, random: () => 0.5 })
  assert.equal(b.next(3000), 3050)
  assert.equal(b.next(-5), 100)
})

test('options are validated with a message naming the option', () => {
  assert.throws(() => new Backoff({ minDelay: 0 }), /minDelay/)
  assert.throws(() => new Backoff({ factor: 0.5 }), /factor/)
  assert.throws(() => new Backoff({ minDelay: 10, maxDelay: 5 }), /maxDelay/)
})

test('reconnect policy follows the disconnect code ranges', () => {
  assert.equal(shouldReconnect(1006), true)
  assert.equal(shouldReconnect(3000), true)
  assert.equal(shouldReconnect(3499), true)
  assert.equal(shouldReconnect(3500), false)
  assert.equal(shouldReconnect(3999), false)
  assert.equal(shouldReconnect(4000), true)
  assert.equal(shouldReconnect(3000, false), false)
})
