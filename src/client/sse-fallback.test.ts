// The SSE fallback: when WebSocket cannot work, SSE with POSTs, the stream reopened with its
// channel list and positions, replies across reopenings, refresh over SSE, and back to WebSocket.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { SubscribedContext } from './subscription.ts'
import { fakeClient } from './test-utils/fake-client.ts'
import { FakeServer, waitFor } from './test-utils/fake-server.ts'

const setup = fakeClient

describe('SSE fallback', () => {
  test('falls back to SSE when the WebSocket cannot connect, and says why', async () => {
    const { client, server } = setup()
    server.wsMode = 'refuse'
    const reasons: string[] = []
    client.on('fallback', (e) => reasons.push(e.reason))
    const got: unknown[] = []
    const sub = client.subscribe('chat:a', { onPublication: (p) => got.push(p.data) })
    client.connect()
    await waitFor(() => client.state === 'connected' && sub.state === 'subscribed')
    assert.equal(client.transport, 'sse')
    assert.deepEqual(reasons, ['websocket-failed'])
    assert.deepEqual(server.streams[0]?.url.searchParams.getAll('channel'), ['chat:a'])
    server.publish('chat:a', 'over-sse')
    assert.deepEqual(got, ['over-sse'])
    const r = await client.publish('chat:a', 'posted')
    assert.equal(r.offset, 2)
    assert.equal(server.posts[0]?.type, 'publish')
    client.disconnect()
  })

  test('disconnect() called from a fallback listener stays disconnected: no SSE stream opens', async () => {
    const { client, server } = setup()
    server.wsMode = 'refuse'
    const states: string[] = []
    client.on('state', (e) => states.push(e.state))
    client.on('fallback', () => client.disconnect())
    client.connect()
    await waitFor(() => client.state === 'disconnected')
    await new Promise((r) => setTimeout(r, 50))
    assert.equal(client.state, 'disconnected')
    assert.equal(server.streams.length, 0, 'no SSE stream was opened')
    assert.deepEqual(states, ['connecting', 'disconnected'])
  })

  test('falls back to SSE when a proxy accepts the upgrade and cuts it before any message', async () => {
    const { client, server } = setup()
    server.wsMode = 'cut'
    // the cut happens before the connect reply: the server stays mute so nothing arrives
    const run = server.run.bind(server)
    server.run = (cmd, peer) => (cmd.type === 'connect' ? null : run(cmd, peer))
    const reasons: string[] = []
    client.on('fallback', (e) => reasons.push(e.reason))
    client.connect()
    await waitFor(() => client.state === 'connected')
    assert.equal(client.transport, 'sse')
    assert.deepEqual(reasons, ['websocket-cut'])
    client.disconnect()
  })

  test('falls back to SSE when there is no WebSocket constructor at all', async () => {
    const g = globalThis as { WebSocket?: unknown }
    const saved = g.WebSocket
    g.WebSocket = undefined // Node >= 22 has a global one
    try {
      const { client, server } = setup({ WebSocket: undefined })
      const reasons: string[] = []
      client.on('fallback', (e) => reasons.push(e.reason))
      client.connect()
      await waitFor(() => client.state === 'connected')
      assert.equal(client.transport, 'sse')
      assert.deepEqual(reasons, ['websocket-unavailable'])
      assert.equal(server.sockets.length, 0)
      client.disconnect()
    } finally {
      g.WebSocket = saved
    }
  })

  test('transport: websocket never falls back', async () => {
    const { client, server } = setup({ transport: 'websocket' })
    server.wsMode = 'refuse'
    client.connect()
    await waitFor(() => server.sockets.length >= 2)
    assert.equal(server.streams.length, 0)
    client.disconnect()
  })

  test('SSE with no channel to stream connects through a POST probe, then streams on subscribe', async () => {
    const { client, server } = setup({ transport: 'sse' })
    client.connect()
    await waitFor(() => client.state === 'connected')
    assert.equal(server.streams.length, 0)
    assert.equal(server.posts[0]?.type, 'ping')
    const sub = client.subscribe('chat:a')
    await waitFor(() => sub.state === 'subscribed')
    assert.equal(server.streams.length, 1)
    client.disconnect()
  })

  test('transport: sse never tries a WebSocket', async () => {
    const { client, server } = setup({ transport: 'sse' })
    client.connect()
    await waitFor(() => client.state === 'connected')
    assert.equal(server.sockets.length, 0)
    assert.equal(client.transport, 'sse')
    client.disconnect()
  })

  test('reopens the SSE stream with lastEventId after it breaks and recovers what was missed', async () => {
    const { client, server } = setup({ transport: 'sse' })
    const got: number[] = []
    const subscribed: SubscribedContext[] = []
    client.subscribe('chat:a', {
      onPublication: (p) => got.push(p.offset),
      onSubscribed: (s) => subscribed.push(s),
    })
    client.subscribe('chat:b')
    client.connect()
    await waitFor(() => subscribed.length === 1)
    server.publish('chat:a', 'live')
    server.streams.at(-1)?.drop()
    server.publishWhileAway('chat:a', 3)
    await waitFor(() => subscribed.length === 2)
    const url = server.streams.at(-1)!.url
    assert.equal(url.searchParams.get('lastEventId'), '1,0.1.e1,1.0.e2')
    assert.equal(subscribed[1]?.recovered, true)
    assert.deepEqual(got, [1, 2, 3, 4])
    client.disconnect()
  })

  test('a new subscription on SSE reopens the stream with the longer channel list', async () => {
    const { client, server } = setup({ transport: 'sse' })
    const a = client.subscribe('chat:a')
    client.connect()
    await waitFor(() => a.state === 'subscribed')
    const b = client.subscribe('chat:b')
    await waitFor(() => b.state === 'subscribed')
    assert.deepEqual(server.streams.at(-1)?.url.searchParams.getAll('channel'), [
      'chat:a',
      'chat:b',
    ])
    assert.equal(client.state, 'connected')
    client.disconnect()
  })

  test('subscriptions made while an SSE stream is being reopened join the next stream', async () => {
    const { client, server } = setup({ transport: 'sse' })
    const a = client.subscribe('chat:a')
    client.connect()
    await waitFor(() => a.state === 'subscribed')
    const b = client.subscribe('chat:b')
    await Promise.resolve()
    await Promise.resolve()
    const c = client.subscribe('chat:c') // the reopen for b is in progress
    await waitFor(() => b.state === 'subscribed' && c.state === 'subscribed')
    assert.deepEqual(server.streams.at(-1)?.url.searchParams.getAll('channel'), [
      'chat:a',
      'chat:b',
      'chat:c',
    ])
    client.disconnect()
  })

  test('a command POSTed before the stream is reopened still gets its reply', async () => {
    const { client, server } = setup({ transport: 'sse', timeout: 1000 })
    const a = client.subscribe('chat:a')
    client.connect()
    await waitFor(() => a.state === 'subscribed')
    server.postDelay = 30
    const answer = client.rpc('echo', 1)
    const b = client.subscribe('chat:b') // closes the stream the rpc was sent beside
    assert.deepEqual(await answer, { method: 'echo', data: 1 })
    await waitFor(() => b.state === 'subscribed')
    client.disconnect()
  })

  test('over SSE the connected push schedules a refresh POSTed with the stream session id', async () => {
    const server = new FakeServer()
    const run = server.run.bind(server)
    server.run = (cmd, peer) =>
      cmd.type === 'refresh' ? { id: cmd.id, result: { ttl: 60 } } : run(cmd, peer)
    const bearers: (string | undefined)[] = []
    const fetch: typeof server.fetch = (url, init) => {
      bearers.push(init.headers.authorization)
      return server.fetch(url, init)
    }
    let n = 0
    const { client, states } = setup(
      { transport: 'sse', token: () => `token-${++n}`, streamTicket: () => 'ticket', fetch },
      server,
    )
    const a = client.subscribe('chat:a')
    client.connect()
    await waitFor(() => a.state === 'subscribed')
    server.streams[0]!.push({ type: 'connected', client: 'sse-1', user: 'u', ttl: 0.05 })
    await waitFor(() => server.posts.length === 1, 1000, 'a refresh POST')
    assert.deepEqual(server.posts[0], {
      id: server.posts[0]!.id,
      type: 'refresh',
      token: 'token-2',
      client: 'sse-1',
    })
    await client.publish('chat:a', 'after')
    assert.deepEqual(bearers, ['Bearer token-1', 'Bearer token-2'])
    assert.equal(server.streams.length, 1)
    assert.deepEqual(
      states.map((e) => e.state),
      ['connecting', 'connected'],
    )
    client.disconnect()
  })

  test('over SSE with a fixed token the connected push schedules no refresh', async () => {
    const server = new FakeServer()
    const { client } = setup({ transport: 'sse', token: 'fixed', streamTicket: () => 't' }, server)
    const a = client.subscribe('chat:a')
    client.connect()
    await waitFor(() => a.state === 'subscribed')
    server.streams[0]!.push({ type: 'connected', client: 'sse-1', user: 'u', ttl: 0.05 })
    await new Promise((r) => setTimeout(r, 120))
    assert.deepEqual(server.posts, [])
    client.disconnect()
  })

  test('when SSE fails too, the next attempt tries WebSocket again', async () => {
    const { client, server } = setup()
    server.wsMode = 'refuse'
    server.sseMode = 'refuse'
    client.subscribe('chat:a')
    client.connect()
    await waitFor(() => server.sockets.length >= 2 && server.streams.length >= 1)
    // SSE stays refused: only a WebSocket attempt can connect now
    server.wsMode = 'accept'
    await waitFor(() => client.state === 'connected')
    assert.equal(client.transport, 'websocket')
    client.disconnect()
  })
})
