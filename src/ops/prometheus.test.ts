import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { test } from 'node:test'
import WebSocket from 'ws'
import { Switchboard } from '../app.ts'
import { MemoryTransport } from '../hub/test-utils/memory-transport.ts'
import { TestClient, turn } from '../hub/test-utils/test-client.ts'
import { DisconnectCode } from '../protocol/index.ts'

/** One scrape as `series -> value` (`name{labels}` exactly as exposed). */
async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`)
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  const out = new Map<string, number>()
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    out.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return out
}

/** What moved between two scrapes, for the series asked. */
function moved(before: Map<string, number>, after: Map<string, number>, series: string): number {
  return (after.get(series) ?? 0) - (before.get(series) ?? 0)
}

/** A protocol v1 client over a real WebSocket: commands with ids, pushes kept. */
async function wsClient(url: string) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/switchboard`, 'switchboard.v1.json')
  const messages: Record<string, unknown>[] = []
  ws.on('message', (data) => messages.push(JSON.parse(String(data))))
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
  let id = 0
  const request = async (command: Record<string, unknown>) => {
    const mine = ++id
    ws.send(JSON.stringify({ id: mine, ...command }))
    for (let i = 0; i < 500; i++) {
      const reply = messages.find((m) => m.id === mine)
      if (reply) return reply as { result?: Record<string, unknown>; error?: { code: string } }
      await new Promise((r) => setTimeout(r, 5))
    }
    throw new Error(`no reply to ${JSON.stringify(command)}`)
  }
  return { ws, messages, request }
}

test('GET /metrics during a scripted session: each named metric moves by what happened', async () => {
  const app = new Switchboard({ logger: false, metrics: true })
  app.channels.configure({ maxOutboxBytes: 4096, maxSubscriptions: 2 })
  app.channels.namespace('chat', { historySize: 100 })
  app.channels.namespace('px', { slowConsumer: 'conflate' })
  app.channels.namespace('feed', { slowConsumer: 'drop-oldest' })
  const { url } = await app.listen({ port: 0 })
  const hub = app.hub
  try {
    const start = await scrape(url)
    assert.equal(start.get('switchboard_broker_healthy'), 1)
    assert.ok(start.has('switchboard_event_loop_delay_seconds{quantile="0.99"}'))

    // connect and subscribe over a real WebSocket
    const a = await wsClient(url)
    assert.ok((await a.request({ type: 'connect' })).result)
    const sub = await a.request({ type: 'subscribe', channel: 'chat:a' })
    const pos = { offset: sub.result!.offset, epoch: sub.result!.epoch }
    let now = await scrape(url)
    assert.equal(now.get('switchboard_connections{transport="websocket"}'), 1)
    assert.equal(now.get('switchboard_sessions'), 1)
    assert.equal(now.get('switchboard_subscriptions'), 1)

    // publish three times (the one subscriber gets each)
    const before = now
    for (let i = 0; i < 3; i++) await hub.publish('chat:a', { i })
    await turn()
    now = await scrape(url)
    assert.equal(moved(before, now, 'switchboard_publications_total'), 3)
    assert.equal(moved(before, now, 'switchboard_publications_fanned_out_total'), 3)
    assert.equal(moved(before, now, 'switchboard_deliveries_total'), 3)
    assert.equal(moved(before, now, 'switchboard_publish_to_deliver_seconds_count'), 3)
    assert.equal(
      moved(
        before,
        now,
        'switchboard_broker_call_duration_seconds_count{operation="publish",outcome="ok"}',
      ),
      3,
    )

    // a limit refuses: a third subscription over maxSubscriptions 2
    await a.request({ type: 'subscribe', channel: 'chat:b' })
    const refused = await a.request({ type: 'subscribe', channel: 'chat:c' })
    assert.equal(refused.error?.code, 'SWB_ERR_CHANNEL_TOO_MANY_SUBSCRIPTIONS')

    // recover: resubscribe from the first position (recovered), then from a lost epoch (not)
    await a.request({ type: 'unsubscribe', channel: 'chat:a' })
    assert.equal(
      (await a.request({ type: 'subscribe', channel: 'chat:a', since: pos })).result?.recovered,
      true,
    )
    await a.request({ type: 'unsubscribe', channel: 'chat:a' })
    const lost = { offset: 1, epoch: 'gone' }
    assert.equal(
      (await a.request({ type: 'subscribe', channel: 'chat:a', since: lost })).result?.recovered,
      false,
    )
    const afterRecover = await scrape(url)
    assert.equal(
      moved(now, afterRecover, 'switchboard_limit_refusals_total{limit="subscriptions"}'),
      1,
    )
    assert.equal(moved(now, afterRecover, 'switchboard_recoveries_total{outcome="recovered"}'), 1)
    assert.equal(
      moved(now, afterRecover, 'switchboard_recoveries_total{outcome="not_recovered"}'),
      1,
    )

    // drops: two subscribers that stopped reading (conflate, drop-oldest)
    now = afterRecover
    const slowPx = await TestClient.connect(hub, undefined, undefined, new MemoryTransport())
    const slowFeed = await TestClient.connect(hub, undefined, undefined, new MemoryTransport())
    await slowPx.request({ type: 'subscribe', channel: 'px:eur' })
    await slowFeed.request({ type: 'subscribe', channel: 'feed:a' })
    slowPx.session.blocked = true
    slowFeed.session.blocked = true
    const pad = 'x'.repeat(200)
    for (let i = 0; i < 40; i++) await hub.publish('px:eur', { i, pad }, { key: 'EUR' })
    for (let i = 0; i < 40; i++) await hub.publish('feed:a', { i, pad })
    slowFeed.session.blocked = false
    slowFeed.session.drain()
    slowFeed.session.flush()
    const afterDrops = await scrape(url)
    const conflated = hub.stats.conflated
    assert.ok(conflated > 0)
    assert.equal(
      moved(now, afterDrops, 'switchboard_dropped_publications_total{reason="conflated"}'),
      conflated,
    )
    const slow = slowFeed.session.dropped
    assert.ok(slow > 0)
    assert.equal(
      moved(now, afterDrops, 'switchboard_dropped_publications_total{reason="slow_consumer"}'),
      slow,
    )
    assert.equal(moved(now, afterDrops, 'switchboard_gaps_total'), 1, 'one marker for the range')

    // disconnects: one by the server with 3003, one by the client closing its socket
    now = afterDrops
    await hub.disconnect(slowPx.session, DisconnectCode.FORCE_RECONNECT, 'bye')
    a.ws.close()
    for (let i = 0; i < 200 && hub.connectionCount > 1; i++)
      await new Promise((r) => setTimeout(r, 5))
    const end = await scrape(url)
    assert.equal(moved(now, end, 'switchboard_disconnects_total{code="3003"}'), 1)
    assert.equal(moved(now, end, 'switchboard_disconnects_total{code="client"}'), 1)
    assert.equal(end.get('switchboard_connections{transport="websocket"}'), 0)
    assert.equal(end.get('switchboard_sessions'), 1)

    // every scrape before this one was counted as an HTTP request of its route
    assert.equal(
      moved(
        start,
        end,
        'switchboard_http_requests_total{method="GET",route="/metrics",status="200"}',
      ),
      5,
    )
  } finally {
    await app.close()
  }
})

test('metrics on a separate port: the app port does not serve them', async () => {
  const app = new Switchboard({ logger: false, metrics: { port: 0, path: '/m' } })
  const { url } = await app.listen({ port: 0 })
  try {
    assert.equal((await fetch(`${url}/m`)).status, 404)
    const address = app.metricsAddress()
    assert.ok(address)
    const res = await fetch(`${address.url}/m`)
    assert.equal(res.status, 200)
    assert.match(await res.text(), /^# HELP switchboard_connections /m)
  } finally {
    await app.close()
  }
  assert.equal(app.metricsAddress(), null)
})

test('an app without the metrics option serves no /metrics and records nothing', async () => {
  const app = new Switchboard({ logger: false })
  assert.equal(app.recorder.enabled, false)
  assert.equal((await app.request('/metrics')).status, 404)
  assert.equal(app.hub.recorder.enabled, false)
  const metrics = app.metrics()
  assert.equal(app.recorder, metrics)
  assert.equal(app.hub.recorder, metrics, 'a hub made before metrics were turned on records too')
  await app.close()
})

test('the metrics option is checked: a bad value names it', () => {
  assert.throws(() => new Switchboard({ metrics: 'yes' as never }), /"metrics"/)
  assert.throws(() => new Switchboard({ metrics: { path: 'metrics' } }), /"metrics.path"/)
})

test('docs/operations.md lists every metric the app exposes, and the Grafana dashboard queries only those', async () => {
  const root = new URL('../../', import.meta.url)
  const app = new Switchboard({ logger: false })
  const exposed = (await app.metrics().registry.getMetricsAsJSON()).map((m) => m.name).sort()
  await app.close()
  const docs = await readFile(new URL('docs/operations.md', root), 'utf8')
  const listed = [...docs.matchAll(/^\| `(switchboard_[a-z_]+)` \|/gm)].map((m) => m[1]!).sort()
  assert.deepEqual(listed, exposed)
  const dashboard = await readFile(new URL('docs/grafana-dashboard.json', root), 'utf8')
  const queried = new Set(
    [...dashboard.matchAll(/switchboard_[a-z_]+/g)].map((m) =>
      m[0].replace(/_(bucket|count|sum)$/, ''),
    ),
  )
  for (const name of queried) assert.ok(exposed.includes(name), `${name} is exposed`)
  assert.ok(queried.size >= 15, `the dashboard shows ${queried.size} metrics`)
})
