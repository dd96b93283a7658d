// The client against the real channels hub (src/hub) served over node:http (hub-harness.ts):
// WebSocket through the `ws` package and SSE + POST through plain handlers. The hub is not wired
// into the app yet, so the harness stands in for `app.channels`.
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { EventSource } from 'eventsource'
import { WebSocket } from 'ws'
import {
  type EventSourceConstructor,
  type PublicationContext,
  type SubscribedContext,
  SwitchboardClient,
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
    const c = client(h1)
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
    await waitFor(() => subscribed.length === 2, 5000, 'resubscribe after restart')
    assert.equal(c.state, 'connected')
    assert.equal(c.transport, 'websocket')
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
