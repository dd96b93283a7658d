import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DisconnectCode, type SubscribeResult } from '../protocol/index.ts'
import { Hub } from './hub.ts'
import type { MetricsRecorder } from './recorder.ts'
import { TestClient, turn } from './test-utils/test-client.ts'

/** A recorder that keeps every call, as `name arg…` lines. */
function tape(): MetricsRecorder & { calls: string[] } {
  const calls: string[] = []
  const keep =
    (name: string) =>
    (...args: unknown[]) =>
      calls.push([name, ...args.map((a) => (typeof a === 'number' && a < 1 ? 'n' : a))].join(' '))
  return {
    enabled: true,
    calls,
    disconnect: keep('disconnect'),
    limitRefused: keep('limitRefused'),
    recovery: keep('recovery'),
    brokerCall: keep('brokerCall'),
    fannedOut: keep('fannedOut'),
    httpRequest: keep('httpRequest'),
    rpc: keep('rpc'),
  }
}

test('the hub reports disconnects by code, the subscription limit, recoveries, broker calls and rpc to its recorder', async () => {
  const hub = new Hub({ maxSubscriptions: 1 })
  hub.rpc('echo', (d) => d)
  const rec = tape()
  hub.recorder = rec
  const c = await TestClient.connect(hub)
  const sub = await c.request<SubscribeResult>({ type: 'subscribe', channel: 'a' })
  assert.equal(
    (await c.request({ type: 'subscribe', channel: 'b' })).error?.code,
    'SWB_ERR_CHANNEL_TOO_MANY_SUBSCRIPTIONS',
  )
  await hub.publish('a', 1)
  await turn()
  await c.request({ type: 'unsubscribe', channel: 'a' })
  const since = { offset: sub.result!.offset, epoch: sub.result!.epoch }
  await c.request({ type: 'subscribe', channel: 'a', since })
  await c.request({ type: 'rpc', method: 'echo', data: 1 })
  await hub.disconnect(c.session, DisconnectCode.FORCE_RECONNECT, 'bye')
  const other = await TestClient.connect(hub)
  other.session.closed()

  const count = (line: string) => rec.calls.filter((l) => l === line).length
  assert.equal(count('limitRefused subscriptions'), 1)
  assert.equal(count('recovery recovered'), 1)
  assert.equal(count('fannedOut n'), 1, 'one fan-out per publication, with its age')
  assert.equal(count('rpc echo true n'), 1)
  assert.equal(count(`disconnect ${DisconnectCode.FORCE_RECONNECT}`), 1)
  assert.equal(count('disconnect client'), 1)
  assert.ok(count('brokerCall publish n true') >= 1)
  assert.ok(count('brokerCall history n true') >= 2)
  assert.equal(hub.stats.published, 1)
  assert.equal(hub.stats.fannedOut, 1)
  assert.equal(hub.stats.delivered, 1)
  await hub.close()
})

test('with the default recorder the hub records nothing and still counts its stats', async () => {
  const hub = new Hub()
  assert.equal(hub.recorder.enabled, false)
  const c = await TestClient.connect(hub)
  await c.request({ type: 'subscribe', channel: 'a' })
  await hub.publish('a', 1)
  await turn()
  assert.deepEqual(
    { published: hub.stats.published, delivered: hub.stats.delivered, subs: hub.subscriptionCount },
    { published: 1, delivered: 1, subs: 1 },
  )
  await hub.close()
})
