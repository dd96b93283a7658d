// The client against the real channels hub (src/hub) served over node:http (hub-harness.ts):
// WebSocket through the `ws` package and SSE + POST through plain handlers. The hub is not wired
// into the app yet, so the harness stands in for `app.channels`.
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { EventSource } from 'eventsource'
import { WebSocket } from 'ws'
import {
  type EventSourceConstructor,
  type ProbeEvent,
  type PublicationContext,
  type SubscribedContext,
  SwitchboardClient,
  type UpgradeEvent,
  type WebSocketConstructor,
} from '../../src/client/index.ts'
import type { ClientOptions } from '../../src/client/options.ts'
import { msgpackCodec } from '../../src/protocol/msgpack.ts'
import { waitFor } from '../../src/test-utils/wait.ts'
import { closeAllHarnesses, type Harness, startHarness } from './hub-harness.ts'

const clients: SwitchboardClient[] = []
function client(h: Harness, options: Partial<ClientOptions> = {}): SwitchboardClient {
  const c = new SwitchboardClient({
    url: h.url,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    EventSource: EventSource as unknown as EventSourceConstructor,
    minReconnectDelay: 20,
    maxReconnectDelay: 100,
    visibility: null,
    ...options,
  })
  clients.push(c)
  return c
}
after(async () => {
  for (const c of clients) c.disconnect()
  await closeAllHarnesses()
})

describe('client against the hub over WebSocket', () => {
  test('subscribes, receives, publishes and calls rpc', async () => {
    const h = await startHarness()
    h.hub.rpc(
      'add',
      (data) => (data as { a: number; b: number }).a + (data as { a: number; b: number }).b,
    )
    const c = client(h)
    const got: unknown[] = []
    const sub = c.subscribe('chat:a', { onPublication: (p) => got.push(p.data) })
    c.connect()
    await waitFor(() => sub.state === 'subscribed')
    assert.equal(c.transport, 'websocket')
    await h.hub.publish('chat:a', { text: 'from server' })
    const r = await c.publish('chat:a', { text: 'from client' })
    assert.equal(r.offset, 2)
    await waitFor(() => got.length === 2)
    assert.deepEqual(got, [{ text: 'from server' }, { text: 'from client' }])
    assert.equal(await c.rpc('add', { a: 2, b: 3 }), 5)
    c.disconnect()
    await h.close()
  })

  test('speaks MessagePack over binary frames when given the msgpack codec', async () => {
    const h = await startHarness()
    const c = client(h, { codec: msgpackCodec })
    const got: unknown[] = []
    const sub = c.subscribe('chat:mp', { onPublication: (p) => got.push(p.data) })
    c.connect()
    await waitFor(() => sub.state === 'subscribed')
    await h.hub.publish('chat:mp', { bytes: new Uint8Array([1, 2, 255]) })
    await c.publish('chat:mp', { n: 1 })
    await waitFor(() => got.length === 2)
    assert.deepEqual(got[0], { bytes: new Uint8Array([1, 2, 255]) })
    assert.deepEqual(got[1], { n: 1 })
    c.disconnect()
    await h.close()
  })

  test('recovers N publications missed during a forced disconnect: all, in order, once', async () => {
    const h = await startHarness()
    const c = client(h, { minReconnectDelay: 300, maxReconnectDelay: 300, random: () => 0.5 })
    const got: PublicationContext[] = []
    const subscribed: SubscribedContext[] = []
    c.subscribe('chat:r', {
      onPublication: (p) => got.push(p),
      onSubscribed: (s) => subscribed.push(s),
    })
    c.connect()
    await waitFor(() => subscribed.length === 1)
    for (let i = 0; i < 5; i++) await h.hub.publish('chat:r', i)
    await waitFor(() => got.length === 5)
    await h.kick()
    await waitFor(() => c.state === 'connecting')
    const N = 40
    for (let i = 5; i < 5 + N; i++) await h.hub.publish('chat:r', i)
    await waitFor(() => subscribed.length === 2)
    await waitFor(() => got.length === 5 + N)
    assert.equal(subscribed[1]?.recovered, true)
    assert.deepEqual(
      got.map((p) => p.data),
      Array.from({ length: 5 + N }, (_, i) => i),
    )
    assert.deepEqual(
      got.map((p) => p.offset),
      Array.from({ length: 5 + N }, (_, i) => i + 1),
    )
    assert.equal(got.filter((p) => p.recovered).length, N)
    c.disconnect()
    await h.close()
  })

  test('reports recovered: false when more was missed than history keeps', async () => {
    const h = await startHarness()
    const c = client(h, { minReconnectDelay: 300, maxReconnectDelay: 300, random: () => 0.5 })
    const subscribed: SubscribedContext[] = []
    const gaps: unknown[] = []
    c.subscribe('tiny:x', { onSubscribed: (s) => subscribed.push(s), onGap: (g) => gaps.push(g) })
    c.connect()
    await waitFor(() => subscribed.length === 1)
    await h.kick()
    await waitFor(() => c.state === 'connecting')
    for (let i = 0; i < 10; i++) await h.hub.publish('tiny:x', i)
    await waitFor(() => subscribed.length === 2)
    assert.equal(subscribed[1]?.recovered, false)
    assert.equal(gaps.length, 1)
    c.disconnect()
    await h.close()
  })

  test('reconnects after a server restart and reports recovered: false for the new epoch', async () => {
    const h1 = await startHarness()
    // Attempts 150 ms apart give the new server time to listen; were two of them refused in a
    // row anyway (a loaded machine), the SSE fallback's probe brings the client back.
    const c = client(h1, {
      minReconnectDelay: 150,
      maxReconnectDelay: 150,
      random: () => 0.999,
      upgradeProbeDelay: 100,
    })
    const subscribed: SubscribedContext[] = []
    const codes: number[] = []
    c.on('state', (e) => codes.push(e.code))
    c.subscribe('chat:restart', { onSubscribed: (s) => subscribed.push(s) })
    c.connect()
    await waitFor(() => subscribed.length === 1)
    await h1.hub.publish('chat:restart', 'before')
    await h1.close()
    await waitFor(() => c.state === 'connecting')
    const h2 = await startHarness(h1.port)
    await waitFor(() => subscribed.length >= 2, 5000, 'resubscribe after restart')
    await waitFor(
      () => c.transport === 'websocket' && c.state === 'connected',
      5000,
      'on WebSocket',
    )
    assert.ok(codes.includes(3000), `state codes ${codes.join(',')} lack 3000 (shutdown)`)
    assert.equal(subscribed[1]?.recovered, false)
    assert.notEqual(subscribed[1]?.epoch, subscribed[0]?.epoch)
    c.disconnect()
    await h2.close()
  })

  test('the outbox replays a publish whose reply was lost, and the hub applies it once', async () => {
    const h = await startHarness()
    const c = client(h)
    c.connect()
    await waitFor(() => c.state === 'connected')
    h.cutNextPublishReply = true
    const r = await c.publish('chat:once', { n: 1 })
    assert.equal(r.duplicate, true)
    const history = await h.hub.history('chat:once')
    assert.equal(history.publications.length, 1)
    // queued while offline, then sent once
    c.disconnect()
    const p = c.publish('chat:once', { n: 2 })
    c.connect()
    const r2 = await p
    assert.equal(r2.duplicate, undefined)
    assert.equal((await h.hub.history('chat:once')).publications.length, 2)
    c.disconnect()
    await h.close()
  })
})

describe('client against the hub over SSE', () => {
  test('falls back to SSE + POST when the upgrade is refused, and still receives and publishes', async () => {
    const h = await startHarness()
    h.refuseUpgrade = true
    const c = client(h)
    const reasons: string[] = []
    c.on('fallback', (e) => reasons.push(e.reason))
    const got: unknown[] = []
    const sub = c.subscribe('chat:s', { onPublication: (p) => got.push(p.data) })
    c.connect()
    await waitFor(() => sub.state === 'subscribed')
    assert.equal(c.transport, 'sse')
    assert.deepEqual(reasons, ['websocket-failed'])
    await h.hub.publish('chat:s', 'pushed')
    const r = await c.publish('chat:s', 'posted')
    assert.equal(r.offset, 2)
    await waitFor(() => got.length === 2)
    assert.deepEqual(got, ['pushed', 'posted'])
    c.disconnect()
    await h.close()
  })

  test('an SSE stream forced closed resumes with every missed publication', async () => {
    const h = await startHarness()
    const c = client(h, {
      transport: 'sse',
      minReconnectDelay: 300,
      maxReconnectDelay: 300,
      random: () => 0.5,
    })
    const got: number[] = []
    const subscribed: SubscribedContext[] = []
    c.subscribe('chat:sr', {
      onPublication: (p) => got.push(p.data as number),
      onSubscribed: (s) => subscribed.push(s),
    })
    c.subscribe('chat:other')
    c.connect()
    await waitFor(() => subscribed.length === 1)
    await h.hub.publish('chat:sr', 0)
    await waitFor(() => got.length === 1)
    await h.kick()
    await waitFor(() => c.state === 'connecting')
    for (let i = 1; i <= 10; i++) await h.hub.publish('chat:sr', i)
    await waitFor(() => subscribed.length === 2)
    await waitFor(() => got.length === 11)
    assert.equal(subscribed[1]?.recovered, true)
    assert.deepEqual(
      got,
      Array.from({ length: 11 }, (_, i) => i),
    )
    c.disconnect()
    await h.close()
  })
})

describe('client upgrade from the SSE fallback', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

  test('a fallback taken while the upgrade was refused moves back to WebSocket within the probe delay, every publication once and in order', async () => {
    const h = await startHarness()
    h.refuseUpgrades = 1 // the first attempt meets a server that is not up yet
    const delay = 300
    const c = client(h, { upgradeProbeDelay: delay })
    const fallbacks: string[] = []
    const upgrades: UpgradeEvent[] = []
    const got: PublicationContext[] = []
    const subscribed: SubscribedContext[] = []
    let sseAt = 0
    let upgradeAt = 0
    c.on('fallback', (e) => fallbacks.push(e.reason))
    c.on('connected', () => {
      if (c.transport === 'sse' && sseAt === 0) sseAt = Date.now()
    })
    c.on('upgrade', (e) => {
      upgrades.push(e)
      upgradeAt = Date.now()
    })
    c.subscribe('chat:up', {
      onPublication: (p) => got.push(p),
      onSubscribed: (s) => subscribed.push(s),
    })
    c.connect()
    await waitFor(() => subscribed.length === 1, 5000, 'subscribed over SSE')
    assert.equal(c.transport, 'sse')
    assert.deepEqual(fallbacks, ['websocket-failed'])
    // Publish all through the switch, every third from the client (a POST, or queued while it
    // reconnects, then sent over WebSocket), until ten more went out on WebSocket (bounded).
    const posted: Promise<unknown>[] = []
    let n = 0
    let afterUpgrade = 0
    while (n < 400 && afterUpgrade < 10) {
      if (n % 3 === 0) posted.push(c.publish('chat:up', n))
      else await h.hub.publish('chat:up', n)
      n++
      if (upgradeAt > 0 && c.state === 'connected') afterUpgrade++
      await sleep(5)
    }
    await Promise.all(posted)
    await waitFor(() => got.length >= n, 5000, `${n} publications`)
    assert.equal(c.transport, 'websocket')
    assert.deepEqual(upgrades, [{ reason: 'websocket-probe-ok', probes: 1 }])
    // the probe starts at most `delay` after SSE connected; the rest is one probe and a connect
    assert.ok(upgradeAt - sseAt <= delay + 1000, `upgrade ${upgradeAt - sseAt} ms after SSE`)
    assert.deepEqual(
      got.map((p) => p.offset),
      Array.from({ length: n }, (_, i) => i + 1),
    )
    assert.deepEqual(
      got.map((p) => p.data as number).sort((a, b) => a - b),
      Array.from({ length: n }, (_, i) => i),
    )
    assert.equal((await h.hub.history('chat:up', { limit: 1000 })).publications.length, n)
    assert.ok(subscribed.length >= 2 && subscribed.every((s) => s.recovered !== false))
    // refused attempt, probe, WebSocket connection; the probe and the stream are gone
    assert.equal(h.upgradeTimes.length, 3)
    await waitFor(() => h.sessions.size === 1 && h.upgradeSockets === 1, 3000, 'one session')
    c.disconnect()
    await h.close()
  })

  test('after a restart, one refused upgrade does not move a client that had WebSocket to SSE', async () => {
    const h1 = await startHarness()
    // reconnect attempts 300 ms apart: the new server listens before the first one
    const c = client(h1, {
      upgradeProbeDelay: 60_000,
      minReconnectDelay: 300,
      maxReconnectDelay: 300,
      random: () => 0.999,
    })
    const subscribed: SubscribedContext[] = []
    const fallbacks: string[] = []
    c.on('fallback', (e) => fallbacks.push(e.reason))
    c.subscribe('chat:race1', { onSubscribed: (s) => subscribed.push(s) })
    c.connect()
    await waitFor(() => subscribed.length === 1)
    await h1.close()
    await waitFor(() => c.state === 'connecting')
    // the new server refuses the first upgrade, as a socket refused a moment before it listened
    const h2 = await startHarness(h1.port)
    h2.refuseUpgrades = 1
    await waitFor(() => subscribed.length === 2, 5000, 'resubscribe after restart')
    assert.equal(c.transport, 'websocket')
    assert.deepEqual(fallbacks, [])
    assert.notEqual(subscribed[1]?.epoch, subscribed[0]?.epoch) // a new server: a new epoch
    c.disconnect()
    await h2.close()
  })

  test('a client pinned to SSE by two refused upgrades after a restart is back on WebSocket within the probe delay', async () => {
    const h1 = await startHarness()
    const c = client(h1, { upgradeProbeDelay: 200 })
    const subscribed: SubscribedContext[] = []
    const fallbacks: string[] = []
    c.on('fallback', (e) => fallbacks.push(e.reason))
    c.subscribe('chat:race', { onSubscribed: (s) => subscribed.push(s) })
    c.connect()
    await waitFor(() => subscribed.length === 1)
    assert.equal(c.transport, 'websocket')
    await h1.close()
    await waitFor(() => c.state === 'connecting')
    // two refused upgrades in a row: the second one sends the client to SSE
    const h2 = await startHarness(h1.port)
    h2.refuseUpgrades = 2
    await waitFor(() => c.transport === 'sse' && c.state === 'connected', 5000, 'pinned to SSE')
    // one more fallback (and an SSE failure) when attempts came before h2 listened
    assert.ok(fallbacks.length >= 1 && fallbacks.every((r) => r === 'websocket-failed'))
    await waitFor(() => c.transport === 'websocket' && c.state === 'connected', 3000, 'upgrade')
    await waitFor(() => subscribed.length === 3 && h2.sessions.size === 1)
    assert.notEqual(subscribed[1]?.epoch, subscribed[0]?.epoch) // a new server: a new epoch
    assert.equal(subscribed[2]?.recovered, true) // the switch itself loses nothing
    c.disconnect()
    await h2.close()
  })

  test('a probe against a server that still refuses the upgrade keeps SSE working, doubles its delay and leaves no socket', async () => {
    const h = await startHarness()
    h.refuseUpgrade = true
    const c = client(h, { upgradeProbeDelay: 50, random: () => 0.9 })
    const probes: ProbeEvent[] = []
    c.on('probe', (e) => probes.push(e))
    const got: unknown[] = []
    const sub = c.subscribe('chat:still', { onPublication: (p) => got.push(p.data) })
    c.connect()
    await waitFor(() => probes.length >= 3, 5000, 'three probes')
    assert.deepEqual(
      probes.slice(0, 3).map((p) => [p.ok, p.attempt, p.retryCeiling]),
      [
        [false, 1, 100],
        [false, 2, 200],
        [false, 3, 400],
      ],
    )
    // upgrade requests: the first attempt, then the probes; a wait is never shorter than
    // 0.9 of its ceiling (timers do not fire early), so the gaps grow 90 ms, then 180 ms
    const t = h.upgradeTimes
    assert.ok(t[2]! - t[1]! >= 89, `gap ${t[2]! - t[1]!} ms`)
    assert.ok(t[3]! - t[2]! >= 179, `gap ${t[3]! - t[2]!} ms`)
    assert.equal(c.transport, 'sse')
    assert.equal(sub.state, 'subscribed')
    await h.hub.publish('chat:still', 'pushed')
    await c.publish('chat:still', 'posted')
    await waitFor(() => got.length === 2)
    assert.deepEqual(got, ['pushed', 'posted'])
    await waitFor(() => h.upgradeSockets === 0, 3000, 'no upgrade socket left')
    c.disconnect()
    const probesAtDisconnect = h.upgradeTimes.length
    await sleep(450) // longer than the next wait's ceiling: no probe after disconnect()
    assert.equal(h.upgradeTimes.length, probesAtDisconnect)
    await h.close()
  })
})
