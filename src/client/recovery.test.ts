// Subscriptions across reconnects: resubscribe with since and recovery, gaps and epochs,
// server-side subscriptions, presence pushes, duplicates, subscription states and refusals.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { ClientError } from './errors.ts'
import type { GapContext, PublicationContext, SubscribedContext } from './subscription.ts'
import { fakeClient } from './test-utils/fake-client.ts'
import { FakeServer, waitFor } from './test-utils/fake-server.ts'

const setup = fakeClient

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
