// The metrics dashboard's one sampling interval: what it publishes, that clients cannot publish
// there, and that closing the app (or the whole showcase) leaves no timer behind.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Switchboard, SwitchboardError } from 'switchboard'
import { createShowcase } from '../../examples/showcase/app.ts'
import {
  METRICS_CHANNEL,
  type MetricsSample,
  mountDashboard,
} from '../../examples/showcase/dashboard.ts'

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return
    await sleep(20)
  }
  assert.fail(`timed out waiting for ${what}`)
}

test('publishes a sample of numeric metrics on metrics:server every interval, and stops on app close', async () => {
  const before = timers()
  const app = new Switchboard({ logger: false })
  const dashboard = mountDashboard(app, { interval: 100 })
  assert.equal(dashboard.running, true)
  assert.ok(timers() > before, 'the sampler holds one interval while running')
  try {
    await app.hub.publish('metrics:other', { n: 1 }) // a publication the next sample counts
    await until(
      async () => (await app.hub.history(METRICS_CHANNEL)).publications.length >= 2,
      'two samples',
    )
    const samples = (await app.hub.history(METRICS_CHANNEL)).publications.map(
      (p) => p.data as MetricsSample,
    )
    for (const s of samples) {
      for (const [field, value] of Object.entries(s)) {
        assert.equal(typeof value, 'number', field)
        assert.ok(Number.isFinite(value) && value >= 0, `${field} = ${value}`)
      }
      assert.ok(s.rssBytes > 1_000_000 && s.heapUsedBytes > 100_000)
    }
    assert.ok(
      samples.some((s) => s.publicationsPerSecond > 0),
      'the other publication is counted',
    )
    // The dashboard's own samples are not: with nothing else published, the rate drops to 0.
    await until(async () => {
      const last = (await app.hub.history(METRICS_CHANNEL, { limit: 1000 })).publications.at(-1)
      return (last?.data as MetricsSample | undefined)?.publicationsPerSecond === 0
    }, 'a sample with no other publication')
  } finally {
    await app.close({ graceful: 0 })
  }
  assert.equal(dashboard.running, false)
  const published = dashboard.published
  await sleep(250)
  assert.equal(dashboard.published, published, 'no sample after close')
  assert.equal(timers(), before)
})

test('refuses a client publish on metrics:server with SWB_ERR_CHANNEL_PUBLISH_DISABLED', async () => {
  const app = createShowcase({ logger: false })
  try {
    const res = await app.request('/switchboard', {
      method: 'POST',
      headers: { authorization: 'Bearer Mallory', 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 1,
        type: 'publish',
        channel: METRICS_CHANNEL,
        data: { rssBytes: 0 },
      }),
    })
    const reply = (await res.json()) as { error?: { code: string } }
    assert.equal(reply.error?.code, 'SWB_ERR_CHANNEL_PUBLISH_DISABLED')
  } finally {
    await app.close({ graceful: 0 })
  }
})

test('creating and closing the whole showcase leaves no timer running', async () => {
  const before = timers()
  const app = createShowcase({ logger: false })
  assert.ok(timers() > before, 'the dashboard interval runs while the showcase is open')
  await app.listen({ port: 0, host: '127.0.0.1' })
  await app.close({ graceful: 0 })
  assert.equal(timers(), before)
})

test('stop() ends the sampler before the app closes, and a second stop is harmless', async () => {
  const before = timers()
  const app = new Switchboard({ logger: false })
  const dashboard = mountDashboard(app, { interval: 100 })
  dashboard.stop()
  dashboard.stop()
  assert.equal(dashboard.running, false)
  assert.equal(timers(), before)
  await app.close({ graceful: 0 })
})

test('refuses an interval under 100 ms or a history that is not a positive integer', () => {
  const app = new Switchboard({ logger: false })
  for (const options of [{ interval: 10 }, { interval: 1.5 }, { historySize: 0 }]) {
    assert.throws(
      () => mountDashboard(app, options),
      (err: unknown) => err instanceof SwitchboardError && err.code === 'SWB_ERR_INVALID_OPTION',
    )
  }
})
