import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { ClientError } from './errors.ts'
import type { GapContext, PublicationContext, SubscribedContext } from './subscription.ts'
import { fakeClient } from './test-utils/fake-client.ts'
import { FakeServer, waitFor } from './test-utils/fake-server.ts'

const setup = fakeClient

describe('connection', () => {
  test('connects over WebSocket with the JSON subprotocol and reports every transition with a code', async () => {
    const { client, server, states } = setup()
    client.connect()
    await waitFor(() => client.state === 'connected')
    assert.deepEqual(server.lastSocket.protocols, ['switchboard.v1.json'])
    assert.equal(server.commands[0]?.type, 'connect')
    client.disconnect()
    assert.deepEqual(
      states.map((s) => [s.state, s.code]),
      [
        ['connecting', 1],
        ['connected', 0],
        ['disconnected', 2],
      ],
    )
  })

  test('reconnects with backoff after the socket drops, carrying the close code', async () => {
    const { client, server, states } = setup()
    client.connect()
    await waitFor(() => client.state === 'connected')
    const dropped = Date.now()
    server.lastSocket.drop(1006, '')
    assert.equal(client.state, 'connecting')
    assert.equal(states.at(-1)?.code, 1006)
    await waitFor(() => client.state === 'connected')
    assert.equal(server.sockets.length, 2)
    assert.ok(Date.now() - dropped < 1000)
    client.disconnect()
  })

  test('keeps retrying while the server refuses, then connects when it is back', async () => {
    const { client, server } = setup({ transport: 'websocket' })
    server.wsMode = 'refuse'
    client.connect()
    await waitFor(() => server.sockets.length >= 4, 3000, 'four attempts')
    assert.equal(client.state, 'connecting')
    server.wsMode = 'accept'
    await waitFor(() => client.state === 'connected', 3000)
    client.disconnect()
  })

  test('a frame that is no server message, a malformed compact publication included, closes with 1002 and reconnects', async () => {
    for (const frame of ['["chat:a",-1,"x"]', '["chat:a",1]', '["chat:a",1,"x",[]]', '7']) {
      const { client, server, states } = setup()
      client.connect()
      await waitFor(() => client.state === 'connected')
      const socket = server.lastSocket
      socket.onmessage?.({ data: frame })
      assert.equal(socket.closedBy?.code, 1002, frame)
      assert.deepEqual([states.at(-1)?.state, states.at(-1)?.code], ['connecting', 1002], frame)
      await waitFor(() => client.state === 'connected')
      assert.equal(server.sockets.length, 2)
      client.disconnect()
    }
  })

  test('reconnects after a server disconnect push in 3000-3499', async () => {
    const { client, server, states } = setup()
    client.connect()
    await waitFor(() => client.state === 'connected')
    server.lastSocket.push({ type: 'disconnect', code: 3000, reason: 'shutdown', reconnect: true })
    assert.deepEqual([states.at(-1)?.state, states.at(-1)?.code], ['connecting', 3000])
    await waitFor(() => client.state === 'connected')
    client.disconnect()
  })

  test('does not reconnect after a close code in 3500-3999', async () => {
    const { client, server, states } = setup()
    const errors: ClientError[] = []
    client.on('error', (e) => errors.push(e))
    client.connect()
    await waitFor(() => client.state === 'connected')
    server.lastSocket.drop(3502, 'banned')
    assert.equal(client.state, 'disconnected')
    assert.deepEqual([states.at(-1)?.code, states.at(-1)?.reason], [3502, 'banned'])
    await new Promise((r) => setTimeout(r, 60))
    assert.equal(server.sockets.length, 1)
    assert.equal(errors.length, 1)
  })

  test('does not reconnect after a disconnect push that says reconnect: false', async () => {
    const { client, server } = setup()
    client.connect()
    await waitFor(() => client.state === 'connected')
    server.lastSocket.push({
      type: 'disconnect',
      code: 3500,
      reason: 'unauthorized',
      reconnect: false,
    })
    assert.equal(client.state, 'disconnected')
    await new Promise((r) => setTimeout(r, 60))
    assert.equal(server.sockets.length, 1)
  })

  test('waits at least the reconnect delay the server advertises', async () => {
    const { client, server } = setup()
    client.connect()
    await waitFor(() => client.state === 'connected')
    const at = Date.now()
    server.lastSocket.push({
      type: 'disconnect',
      code: 3000,
      reason: 'restart',
      reconnect: true,
      delay: 150,
    } as never)
    await waitFor(() => server.sockets.length === 2)
    assert.ok(Date.now() - at >= 140, `reconnected after ${Date.now() - at} ms`)
    client.disconnect()
  })

  test('refreshes the token before the credential expires', async () => {
    const server = new FakeServer()
    const run = server.run.bind(server)
    const tokens: string[] = []
    server.run = (cmd, peer) => {
      if (cmd.type === 'connect' || cmd.type === 'refresh') tokens.push(`${cmd.type}:${cmd.token}`)
      if (cmd.type === 'connect') {
        return { id: cmd.id, result: { client: 'c1', user: 'u', version: 1, ttl: 0.05 } }
      }
      if (cmd.type === 'refresh') return { id: cmd.id, result: { ttl: 60 } }
      return run(cmd, peer)
    }
    let n = 0
    const { client } = setup({ token: () => `token-${++n}` }, server)
    client.connect()
    await waitFor(() => tokens.length === 2, 1000, 'a refresh')
    assert.deepEqual(tokens, ['connect:token-1', 'refresh:token-2'])
    assert.equal(server.sockets.length, 1)
    client.disconnect()
  })

  test('an expired token at connect reconnects and asks the token function again', async () => {
    const server = new FakeServer()
    const run = server.run.bind(server)
    const tokens: unknown[] = []
    server.run = (cmd, peer) => {
      if (cmd.type === 'connect') {
        tokens.push(cmd.token)
        if (tokens.length === 1) {
          return { id: cmd.id, error: { code: 'SWB_ERR_AUTH_TOKEN_EXPIRED', message: 'expired' } }
        }
      }
      return run(cmd, peer)
    }
    let n = 0
    const { client } = setup({ token: () => `token-${++n}` }, server)
    client.connect()
    await waitFor(() => client.state === 'connected')
    assert.equal(server.sockets.length, 2)
    assert.deepEqual(tokens, ['token-1', 'token-2'])
    client.disconnect()
  })

  test('a refused connect stops the client and rejects the commands queued for it', async () => {
    const server = new FakeServer()
    const { client, states } = setup({}, server)
    client.connect()
    await waitFor(() => client.state === 'connected')
    server.wsMode = 'refuse'
    server.lastSocket.drop(1006, '')
    const queued = client.presence('chat:a')
    assert.equal(client.outboxSize, 1)
    const run = server.run.bind(server)
    server.run = (cmd, peer) =>
      cmd.type === 'connect'
        ? { id: cmd.id, error: { code: 'SWB_ERR_AUTH_UNAUTHORIZED', message: 'bad token' } }
        : run(cmd, peer)
    server.wsMode = 'accept'
    await assert.rejects(queued, { code: 'SWB_ERR_CLIENT_CLOSED' })
    assert.equal(client.state, 'disconnected')
    assert.equal(states.at(-1)?.code, 3500)
    const attempts = server.sockets.length
    await new Promise((r) => setTimeout(r, 60))
    assert.equal(server.sockets.length, attempts)
  })
})

describe('subscriptions and recovery', () => {
  test('resubscribes with since after a reconnect and delivers the missed publications once, in order', async () => {
    const { client, server } = setup()
    const got: PublicationContext[] = []
    const subscribed: SubscribedContext[] = []
    client.subscribe('chat:a', {
      onPublication: (p) => got.push(p),
      onSubscribed: (s) => subscribed.push(s),
    })
    client.connect()
    await waitFor(() => subscribed.length === 1)
    server.publish('chat:a', 'live-1')
    server.publish('chat:a', 'live-2')
    await waitFor(() => got.length === 2)
    server.lastSocket.drop(1006, '')
    server.publishWhileAway('chat:a', 5)
    await waitFor(() => subscribed.length === 2)
    const resub = server.commands.filter((c) => c.type === 'subscribe').at(-1)
    assert.deepEqual((resub as { since?: unknown }).since, { offset: 2, epoch: 'e1' })
    assert.equal(subscribed[1]?.recovered, true)
    assert.equal(subscribed[1]?.wasRecovering, true)
    assert.deepEqual(
      got.map((p) => p.offset),
      [1, 2, 3, 4, 5, 6, 7],
    )
    assert.deepEqual(
      got.map((p) => p.recovered),
      [false, false, true, true, true, true, true],
    )
    client.disconnect()
  })

  test('surfaces recovered: false and an unrecovered gap when history is gone', async () => {
    const { client, server } = setup()
    const subscribed: SubscribedContext[] = []
    const gaps: GapContext[] = []
    client.subscribe('chat:a', {
      onSubscribed: (s) => subscribed.push(s),
      onGap: (g) => gaps.push(g),
    })
    server.publish('chat:a', 'x')
    client.connect()
    await waitFor(() => subscribed.length === 1)
    server.lastSocket.drop(1006, '')
    server.loseHistory()
    await waitFor(() => subscribed.length === 2)
    assert.equal(subscribed[1]?.recovered, false)
    assert.equal(gaps.length, 1)
    assert.deepEqual(gaps[0], {
      channel: 'chat:a',
      reason: 'unrecovered',
      epoch: 'e1',
      from: 2,
      to: null,
      count: null,
    })
    client.disconnect()
  })

  test('reports an unrecovered gap with its range when the history window was exceeded', async () => {
    const server = new FakeServer()
    server.historySize = 3
    const { client } = setup({}, server)
    const gaps: GapContext[] = []
    const subscribed: SubscribedContext[] = []
    client.subscribe('chat:a', {
      onGap: (g) => gaps.push(g),
      onSubscribed: (s) => subscribed.push(s),
    })
    client.connect()
    await waitFor(() => subscribed.length === 1)
    server.lastSocket.drop(1006, '')
    server.publishWhileAway('chat:a', 10)
    await waitFor(() => subscribed.length === 2)
    assert.equal(subscribed[1]?.recovered, false)
    assert.deepEqual(
      gaps.map((g) => [g.reason, g.from, g.to, g.count]),
      [['unrecovered', 1, 10, 10]],
    )
    client.disconnect()
  })

  test('publications that leave the epoch out are in the subscription’s; a gap naming a new epoch moves the resume point into it and is reported unrecovered', async () => {
    const { client, server } = setup()
    const got: PublicationContext[] = []
    const gaps: GapContext[] = []
    const sub = client.subscribe('ticker:x', {
      onPublication: (p) => got.push(p),
      onGap: (g) => gaps.push(g),
    })
    client.connect()
    await waitFor(() => sub.state === 'subscribed')
    server.publish('ticker:x', 'a')
    server.publish('ticker:x', 'b')
    await waitFor(() => got.length === 2)
    assert.deepEqual(
      got.map((p) => [p.offset, p.epoch]),
      [
        [1, 'e1'],
        [2, 'e1'],
      ],
    )
    // The stream is replaced; its first three publications (the first named e2) are lost to
    // this client, which is told so by a gap marker in the new epoch.
    server.loseHistory()
    for (const d of ['c', 'd', 'e']) server.publish('ticker:x', d, false)
    server.lastSocket.push({
      type: 'gap',
      channel: 'ticker:x',
      epoch: 'e2',
      from: 1,
      to: 3,
      count: 3,
    })
    server.publish('ticker:x', 'f')
    await waitFor(() => got.length === 3)
    assert.deepEqual([got[2]!.offset, got[2]!.epoch, got[2]!.data], [4, 'e2', 'f'])
    assert.deepEqual(gaps, [
      { channel: 'ticker:x', reason: 'unrecovered', epoch: 'e2', from: 1, to: null, count: null },
    ])
    server.lastSocket.drop(1006, '')
    await waitFor(() => server.commands.filter((c) => c.type === 'subscribe').length === 2)
    const resub = server.commands.filter((c) => c.type === 'subscribe').at(-1)
    assert.deepEqual((resub as { since?: unknown }).since, { offset: 4, epoch: 'e2' })
    client.disconnect()
  })

  test('gap markers from the server reach onGap', async () => {
    const { client, server } = setup()
    const gaps: GapContext[] = []
    const sub = client.subscribe('ticker:x', { onGap: (g) => gaps.push(g) })
    client.connect()
    await waitFor(() => sub.state === 'subscribed')
    server.lastSocket.push({
      type: 'gap',
      channel: 'ticker:x',
      epoch: 'e1',
      from: 4,
      to: 9,
      count: 6,
    })
    assert.deepEqual(gaps, [
      { channel: 'ticker:x', reason: 'dropped', epoch: 'e1', from: 4, to: 9, count: 6 },
    ])
    client.disconnect()
  })

  test('server-side publications carry the epoch of their subscription when the push leaves it out', async () => {
    const { client, server } = setup()
    const seen: [number, string][] = []
    client.on('publication', (p) => seen.push([p.offset, p.epoch]))
    client.connect()
    await waitFor(() => client.state === 'connected')
    const socket = server.lastSocket
    socket.push({
      type: 'subscribe',
      channel: 'user:ada',
      offset: 0,
      epoch: 'e5',
      recoverable: true,
    })
    socket.push({ type: 'publication', channel: 'user:ada', offset: 1, data: 'a' })
    socket.push({ type: 'publication', channel: 'user:ada', offset: 1, epoch: 'e6', data: 'b' })
    socket.push({ type: 'publication', channel: 'user:ada', offset: 2, data: 'c' })
    socket.push({ type: 'gap', channel: 'user:ada', epoch: 'e7', from: 1, to: 1, count: 1 })
    socket.push({ type: 'publication', channel: 'user:ada', offset: 2, data: 'd' })
    assert.deepEqual(seen, [
      [1, 'e5'],
      [1, 'e6'],
      [2, 'e6'],
      [2, 'e7'],
    ])
    client.disconnect()
  })

  test('join, leave, user messages and server-side publications reach their handlers', async () => {
    const { client, server } = setup()
    const seen: string[] = []
    const sub = client.subscribe('chat:a', {
      onJoin: (info) => seen.push(`join:${info.user}`),
      onLeave: (info) => seen.push(`leave:${info.user}`),
    })
    client.on('message', (data) => seen.push(`message:${String(data)}`))
    client.on('publication', (p) => seen.push(`server-side:${p.channel}:${String(p.data)}`))
    client.connect()
    await waitFor(() => sub.state === 'subscribed')
    const info = { user: 'ada', client: 'c9' }
    server.lastSocket.push({ type: 'join', channel: 'chat:a', info })
    server.lastSocket.push({ type: 'leave', channel: 'chat:a', info })
    server.lastSocket.push({ type: 'message', data: 'hello' })
    server.lastSocket.push({
      type: 'publication',
      channel: 'user:ada',
      epoch: 'e9',
      offset: 1,
      data: 'x',
    })
    assert.deepEqual(seen, ['join:ada', 'leave:ada', 'message:hello', 'server-side:user:ada:x'])
    client.disconnect()
  })

  test('drops a publication it already delivered', async () => {
    const { client, server } = setup()
    const got: number[] = []
    const sub = client.subscribe('chat:a', { onPublication: (p) => got.push(p.offset) })
    client.connect()
    await waitFor(() => sub.state === 'subscribed')
    const pub = server.publish('chat:a', 1)
    server.lastSocket.push({ type: 'publication', channel: 'chat:a', epoch: 'e1', ...pub })
    assert.deepEqual(got, [1])
    client.disconnect()
  })

  test('resumes from a since given by the application', async () => {
    const { client, server } = setup()
    server.publishWhileAway('chat:a', 4)
    const got: number[] = []
    const sub = client.subscribe('chat:a', {
      since: { offset: 2, epoch: 'e1' },
      onPublication: (p) => got.push(p.offset),
    })
    client.connect()
    await waitFor(() => sub.state === 'subscribed')
    assert.deepEqual(got, [3, 4])
    client.disconnect()
  })

  test('subscription states follow the connection and carry codes', async () => {
    const { client, server } = setup()
    const states: string[] = []
    const sub = client.subscribe('chat:a', { onState: (e) => states.push(`${e.state}:${e.code}`) })
    client.connect()
    await waitFor(() => sub.state === 'subscribed')
    server.lastSocket.drop(1006, '')
    await waitFor(() => states.length === 4)
    sub.unsubscribe()
    assert.deepEqual(states, [
      'subscribing:1',
      'subscribed:0',
      'subscribing:1006',
      'subscribed:0',
      'unsubscribed:2',
    ])
    await waitFor(() => server.commands.some((c) => c.type === 'unsubscribe'))
    client.disconnect()
  })

  test('a server unsubscribe in the reconnect range resubscribes', async () => {
    const { client, server } = setup()
    const sub = client.subscribe('chat:a')
    client.connect()
    await waitFor(() => sub.state === 'subscribed')
    server.lastSocket.push({ type: 'unsubscribe', channel: 'chat:a', code: 3001, reason: 'slow' })
    assert.equal(sub.state, 'subscribing')
    await waitFor(() => sub.state === 'subscribed')
    server.lastSocket.push({
      type: 'unsubscribe',
      channel: 'chat:a',
      code: 3500,
      reason: 'forbidden',
    })
    assert.equal(sub.state, 'unsubscribed')
    client.disconnect()
  })

  test('a refused subscribe ends in unsubscribed with a coded error', async () => {
    const server = new FakeServer()
    const run = server.run.bind(server)
    server.run = (cmd, peer) =>
      cmd.type === 'subscribe'
        ? { id: cmd.id, error: { code: 'SWB_ERR_CHANNEL_FORBIDDEN', message: 'no' } }
        : run(cmd, peer)
    const { client } = setup({}, server)
    const errors: ClientError[] = []
    const sub = client.subscribe('secret:x', { onError: (e) => errors.push(e) })
    client.connect()
    await waitFor(() => errors.length === 1)
    assert.equal(sub.state, 'unsubscribed')
    assert.equal(errors[0]?.code, 'SWB_ERR_CHANNEL_FORBIDDEN')
    client.disconnect()
  })
})

describe('outbox and commands', () => {
  test('publishes issued while disconnected are sent once after connecting, in order', async () => {
    const { client, server } = setup()
    const results = [client.publish('chat:a', 'one'), client.publish('chat:a', 'two')]
    assert.equal(client.outboxSize, 2)
    client.connect()
    const [a, b] = await Promise.all(results)
    assert.deepEqual([a?.offset, b?.offset], [1, 2])
    assert.deepEqual(
      server.channel('chat:a').pubs.map((p) => p.data),
      ['one', 'two'],
    )
    client.disconnect()
  })

  test('a publish lost with its connection is replayed with the same idempotency key and applied once', async () => {
    const server = new FakeServer()
    const { client } = setup({}, server)
    client.connect()
    await waitFor(() => client.state === 'connected')
    // The server applies the publish, but the connection dies before the reply is written.
    const run = server.run.bind(server)
    let cut = true
    server.run = (cmd, peer) => {
      const reply = run(cmd, peer)
      if (cmd.type === 'publish' && cut) {
        cut = false
        ;(peer as { drop(c: number, r: string): void }).drop(1006, '')
        return null
      }
      return reply
    }
    const result = await client.publish('chat:a', 'once')
    const publishes = server.commands.filter((c) => c.type === 'publish')
    assert.equal(publishes.length, 2)
    const keys = publishes.map((c) => (c as { idempotencyKey?: string }).idempotencyKey)
    assert.ok(keys[0] !== undefined && keys[0] === keys[1])
    assert.equal(result.duplicate, true)
    assert.deepEqual(
      server.channel('chat:a').pubs.map((p) => p.data),
      ['once'],
    )
    client.disconnect()
  })

  test('the outbox is bounded and refuses with a coded error when full', async () => {
    const { client } = setup({ outboxSize: 2 })
    const a = client.publish('chat:a', 1)
    const b = client.publish('chat:a', 2)
    await assert.rejects(client.publish('chat:a', 3), { code: 'SWB_ERR_CLIENT_OUTBOX_FULL' })
    assert.equal(client.outboxSize, 2)
    void a.catch(() => {})
    void b.catch(() => {})
  })

  test('rpc resolves with the reply data', async () => {
    const { client } = setup()
    client.connect()
    assert.deepEqual(await client.rpc('echo', { x: 1 }), { method: 'echo', data: { x: 1 } })
    client.disconnect()
  })

  test('rpc rejects with SWB_ERR_CLIENT_TIMEOUT when no reply comes in time', async () => {
    const { client, server } = setup()
    client.connect()
    await waitFor(() => client.state === 'connected')
    server.answer = false
    const at = Date.now()
    await assert.rejects(client.rpc('slow', null, { timeout: 40 }), (e: ClientError) => {
      assert.equal(e.code, 'SWB_ERR_CLIENT_TIMEOUT')
      assert.equal(e.temporary, true)
      return true
    })
    assert.ok(Date.now() - at >= 35)
    client.disconnect()
  })

  test('rpc timeout counts time spent queued while offline', async () => {
    const { client } = setup()
    await assert.rejects(client.rpc('x', null, { timeout: 20 }), { code: 'SWB_ERR_CLIENT_TIMEOUT' })
    assert.equal(client.outboxSize, 0)
  })

  test('an rpc in flight when the connection drops rejects instead of running twice', async () => {
    const { client, server } = setup()
    client.connect()
    await waitFor(() => client.state === 'connected')
    server.answer = false
    const p = client.rpc('charge', { amount: 5 })
    await waitFor(() => server.commands.some((c) => c.type === 'rpc'))
    server.lastSocket.drop(1006, '')
    await assert.rejects(p, { code: 'SWB_ERR_CLIENT_DISCONNECTED' })
    server.answer = true
    await waitFor(() => client.state === 'connected')
    assert.equal(server.commands.filter((c) => c.type === 'rpc').length, 1)
    client.disconnect()
  })

  test('reply errors reject with the server code', async () => {
    const server = new FakeServer()
    const run = server.run.bind(server)
    server.run = (cmd, peer) =>
      cmd.type === 'rpc'
        ? { id: cmd.id, error: { code: 'SWB_ERR_RPC_NOT_FOUND', message: 'no such method' } }
        : run(cmd, peer)
    const { client } = setup({}, server)
    client.connect()
    await assert.rejects(client.rpc('nope'), { code: 'SWB_ERR_RPC_NOT_FOUND' })
    client.disconnect()
  })

  test('presence and history go through the same command path', async () => {
    const { client, server } = setup()
    server.publishWhileAway('chat:a', 2)
    client.connect()
    const [presence, history] = await Promise.all([
      client.presence('chat:a'),
      client.history('chat:a'),
    ])
    assert.equal(presence.count, 0)
    assert.deepEqual(
      history.publications.map((p) => p.offset),
      [1, 2],
    )
    client.disconnect()
  })
})

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
