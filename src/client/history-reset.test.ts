// The history start (`subscribe(channel, { history: { limit } })`) and the reset signal, against
// the scripted protocol v1 server: the application keeps a list with two rules only (a
// publication appends, a reset replaces) and must end up with exactly the server's history.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { ClientCommand } from '../protocol/messages.ts'
import type { SwitchboardClient } from './client.ts'
import type { ClientError } from './errors.ts'
import type { GapContext, ResetContext } from './subscription.ts'
import { fakeClient } from './test-utils/fake-client.ts'
import { FakeServer, waitFor } from './test-utils/fake-server.ts'

/** What a chat page does, and nothing more: append on publication, replace on reset. */
function chatList(client: SwitchboardClient, channel: string, limit: number) {
  const list: unknown[] = []
  const resets: ResetContext[] = []
  const gaps: GapContext[] = []
  const errors: ClientError[] = []
  const sub = client.subscribe(channel, {
    history: { limit },
    onPublication: (p) => list.push(p.data),
    onReset: (r) => {
      resets.push(r)
      list.splice(0, list.length, ...r.publications.map((p) => p.data))
    },
    onGap: (g) => gaps.push(g),
    onError: (e) => errors.push(e),
  })
  return { list, resets, gaps, errors, sub }
}

function historyCommands(server: FakeServer): (ClientCommand & { type: 'history' })[] {
  return server.commands.filter((c) => c.type === 'history') as (ClientCommand & {
    type: 'history'
  })[]
}

/** The last `n` publications the server keeps for `channel`, as data. */
function lastData(server: FakeServer, channel: string, n: number): unknown[] {
  return server
    .channel(channel)
    .pubs.slice(-n)
    .map((p) => p.data)
}

describe('history start', () => {
  test('delivers the last `limit` publications, oldest first and flagged recovered, then live ones', async () => {
    const { client, server } = fakeClient()
    for (let i = 1; i <= 10; i++) server.publish('chat:a', `m${i}`)
    const recovered: boolean[] = []
    const { list, resets } = chatList(client, 'chat:a', 3)
    client.getSubscription('chat:a')?.on('publication', (p) => recovered.push(p.recovered))
    client.connect()
    await waitFor(() => list.length === 3)
    assert.deepEqual(list, ['m8', 'm9', 'm10'])
    assert.deepEqual(historyCommands(server)[0]?.since, { offset: 7, epoch: 'e1' })
    assert.equal(historyCommands(server)[0]?.limit, 3)
    server.publish('chat:a', 'm11')
    await waitFor(() => list.length === 4)
    assert.deepEqual(list, ['m8', 'm9', 'm10', 'm11'])
    assert.deepEqual(recovered, [true, true, true, false])
    assert.equal(resets.length, 0)
    client.disconnect()
  })

  test('holds live publications while the history read is in flight and delivers each once', async () => {
    const { client, server } = fakeClient()
    server.publish('chat:a', 'm1')
    server.publish('chat:a', 'm2')
    let pending: (ClientCommand & { type: 'history' }) | null = null
    server.historyAnswer = (cmd) => {
      pending = cmd
      return null
    }
    const { list } = chatList(client, 'chat:a', 5)
    client.connect()
    await waitFor(() => pending !== null)
    // Published after the subscribe answer: they arrive live before the read is answered, and
    // the read (limit 5 from offset 0) returns them as well.
    server.publish('chat:a', 'm3')
    server.publish('chat:a', 'm4')
    await new Promise((r) => setTimeout(r, 10))
    assert.deepEqual(list, [])
    server.historyAnswer = null
    const reply = server.run(pending!, null)!
    server.lastSocket.push(reply)
    server.publish('chat:a', 'm5')
    await waitFor(() => list.length >= 5)
    await new Promise((r) => setTimeout(r, 10))
    assert.deepEqual(list, ['m1', 'm2', 'm3', 'm4', 'm5'])
    client.disconnect()
  })

  test('a connection lost during the history read resumes from where live continues: no loss, no duplicate', async () => {
    const { client, server } = fakeClient()
    for (let i = 1; i <= 4; i++) server.publish('chat:a', `m${i}`)
    server.historyAnswer = () => null // this read is lost with its connection
    const { list } = chatList(client, 'chat:a', 3)
    client.connect()
    await waitFor(() => historyCommands(server).length === 1)
    server.lastSocket.drop(1006, '')
    server.publishWhileAway('chat:a', 2) // m5, m6 arrive through recovery
    server.historyAnswer = null
    await waitFor(() => list.length >= 5)
    await new Promise((r) => setTimeout(r, 10))
    const resub = server.commands.filter((c) => c.type === 'subscribe').at(-1)
    assert.deepEqual((resub as { since?: unknown }).since, { offset: 4, epoch: 'e1' })
    assert.deepEqual(list, ['m2', 'm3', 'm4', { n: 0 }, { n: 1 }])
    client.disconnect()
  })

  test('over SSE: history start, then live, then a broken stream recovers once', async () => {
    const { client, server } = fakeClient({ transport: 'sse' })
    for (let i = 1; i <= 6; i++) server.publish('chat:a', `m${i}`)
    const { list, resets } = chatList(client, 'chat:a', 4)
    client.connect()
    await waitFor(() => list.length === 4)
    assert.deepEqual(list, ['m3', 'm4', 'm5', 'm6'])
    assert.equal(server.posts.filter((c) => c.type === 'history').length, 1)
    server.publish('chat:a', 'm7')
    await waitFor(() => list.length === 5)
    server.streams.at(-1)!.drop()
    server.publishWhileAway('chat:a', 2)
    await waitFor(() => list.length >= 7)
    await new Promise((r) => setTimeout(r, 10))
    assert.deepEqual(list.slice(4), ['m7', { n: 0 }, { n: 1 }])
    assert.equal(resets.length, 0)
    assert.equal(server.posts.filter((c) => c.type === 'history').length, 1)
    client.disconnect()
  })

  test('a limit above the server’s cap still starts with the most recent publications, not the oldest', async () => {
    const { client, server } = fakeClient()
    server.maxHistoryLimit = 4
    for (let i = 1; i <= 20; i++) server.publish('chat:a', i)
    const { list } = chatList(client, 'chat:a', 10)
    client.connect()
    await waitFor(() => list.length === 4)
    await new Promise((r) => setTimeout(r, 10))
    assert.deepEqual(list, [17, 18, 19, 20])
    server.publish('chat:a', 21)
    await waitFor(() => list.length === 5)
    assert.deepEqual(list.at(-1), 21)
    client.disconnect()
  })

  test('a namespace without history starts live, with no read', async () => {
    const { client, server } = fakeClient()
    const model = server.subscribeResult.bind(server)
    server.subscribeResult = (name, since) => ({ ...model(name, since), recoverable: false })
    const { list, sub } = chatList(client, 'chat:a', 3)
    client.connect()
    await waitFor(() => sub.state === 'subscribed')
    server.publish('chat:a', 'live')
    await waitFor(() => list.length === 1)
    assert.equal(historyCommands(server).length, 0)
    client.disconnect()
  })

  test('history.limit must be a positive integer', () => {
    const { client } = fakeClient()
    for (const limit of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => client.subscribe(`chat:${limit}`, { history: { limit } }),
        (e: ClientError) => e.code === 'SWB_ERR_CLIENT_INVALID_OPTION',
      )
    }
  })
})

describe('reset', () => {
  test('the server lost its history (new epoch): one reset with the fresh recent publications, then live', async () => {
    const { client, server } = fakeClient()
    for (let i = 1; i <= 5; i++) server.publish('chat:a', `old${i}`)
    const { list, resets, gaps } = chatList(client, 'chat:a', 3)
    client.connect()
    await waitFor(() => list.length === 3)
    server.lastSocket.drop(1006, '')
    server.loseHistory() // a restarted in-memory broker
    server.publish('chat:a', 'new1')
    server.publish('chat:a', 'new2')
    await waitFor(() => resets.length === 1)
    assert.equal(resets[0]?.reason, 'epoch-changed')
    assert.deepEqual(
      resets[0]?.publications.map((p) => [p.offset, p.epoch, p.data]),
      [
        [1, 'e2', 'new1'],
        [2, 'e2', 'new2'],
      ],
    )
    assert.deepEqual(list, ['new1', 'new2'])
    assert.equal(gaps[0]?.reason, 'unrecovered') // the lower-level report is still there
    server.publish('chat:a', 'new3')
    await waitFor(() => list.length === 3)
    assert.deepEqual(list, ['new1', 'new2', 'new3'])
    client.disconnect()
  })

  test('missed publications left the history window: reset "unrecovered" with the last `limit`', async () => {
    const server = new FakeServer()
    server.historySize = 5
    const { client } = fakeClient({}, server)
    server.publish('chat:a', 'm0')
    const { list, resets } = chatList(client, 'chat:a', 3)
    client.connect()
    await waitFor(() => list.length === 1)
    server.lastSocket.drop(1006, '')
    for (let i = 1; i <= 20; i++) server.publish('chat:a', `m${i}`, false)
    await waitFor(() => resets.length === 1)
    assert.equal(resets[0]?.reason, 'unrecovered')
    assert.deepEqual(list, ['m18', 'm19', 'm20'])
    assert.deepEqual(list, lastData(server, 'chat:a', 3))
    client.disconnect()
  })

  test('without history, the reset says so with no publications and live continues', async () => {
    const { client, server } = fakeClient()
    const resets: ResetContext[] = []
    const got: unknown[] = []
    client.subscribe('chat:a', {
      onReset: (r) => resets.push(r),
      onPublication: (p) => got.push(p.data),
    })
    server.publish('chat:a', 'x')
    client.connect()
    await waitFor(() => client.getSubscription('chat:a')?.state === 'subscribed')
    server.lastSocket.drop(1006, '')
    server.loseHistory()
    await waitFor(() => resets.length === 1)
    assert.deepEqual(resets[0], { channel: 'chat:a', reason: 'epoch-changed', publications: [] })
    assert.equal(historyCommands(server).length, 0)
    server.publish('chat:a', 'after')
    await waitFor(() => got.length === 1)
    assert.deepEqual(got, ['after'])
    client.disconnect()
  })

  test('a gap naming a new epoch under a live subscription resets from the new stream', async () => {
    const { client, server } = fakeClient()
    const { list, resets } = chatList(client, 'chat:a', 10)
    server.publish('chat:a', 'a')
    client.connect()
    await waitFor(() => list.length === 1)
    server.loseHistory()
    server.publish('chat:a', 'b', false)
    server.publish('chat:a', 'c', false)
    server.lastSocket.push({
      type: 'gap',
      channel: 'chat:a',
      epoch: 'e2',
      from: 1,
      to: 2,
      count: 2,
    })
    server.publish('chat:a', 'd')
    await waitFor(() => resets.length === 1 && list.length === 3)
    await new Promise((r) => setTimeout(r, 10))
    assert.equal(resets[0]?.reason, 'epoch-changed')
    // The read may already hold 'd' (published right behind the marker): never twice.
    assert.deepEqual(resets[0]?.publications.map((p) => p.data).slice(0, 2), ['b', 'c'])
    assert.deepEqual(list, ['b', 'c', 'd'])
    client.disconnect()
  })

  test('with history, dropped publications (slow consumer) reset from a fresh read; without, only onGap', async () => {
    const { client, server } = fakeClient()
    const withHistory = chatList(client, 'chat:h', 10)
    const plainResets: ResetContext[] = []
    const plainGaps: GapContext[] = []
    client.subscribe('chat:p', {
      onReset: (r) => plainResets.push(r),
      onGap: (g) => plainGaps.push(g),
    })
    client.connect()
    await waitFor(() => withHistory.sub.state === 'subscribed')
    await waitFor(() => client.getSubscription('chat:p')?.state === 'subscribed')
    server.publish('chat:h', 1)
    await waitFor(() => withHistory.list.length === 1)
    for (const ch of ['chat:h', 'chat:p']) {
      server.publish(ch, 2, false)
      server.publish(ch, 3, false)
      const epoch = server.channel(ch).epoch
      server.lastSocket.push({ type: 'gap', channel: ch, epoch, from: 2, to: 3, count: 2 })
    }
    server.publish('chat:h', 4)
    await waitFor(() => withHistory.list.length === 4)
    assert.equal(withHistory.resets[0]?.reason, 'dropped')
    assert.deepEqual(withHistory.list, [1, 2, 3, 4])
    assert.equal(plainResets.length, 0)
    assert.equal(plainGaps[0]?.reason, 'dropped')
    client.disconnect()
  })

  test('a gap already covered by what was delivered does not reset', async () => {
    const { client, server } = fakeClient()
    const { list, resets } = chatList(client, 'chat:a', 10)
    for (let i = 1; i <= 3; i++) server.publish('chat:a', i)
    client.connect()
    await waitFor(() => list.length === 3)
    server.lastSocket.push({
      type: 'gap',
      channel: 'chat:a',
      epoch: 'e1',
      from: 2,
      to: 3,
      count: 2,
    })
    await new Promise((r) => setTimeout(r, 10))
    assert.equal(resets.length, 0)
    client.disconnect()
  })

  test('over SSE: a server that lost its history resets once with the fresh publications', async () => {
    const { client, server } = fakeClient({ transport: 'sse' })
    server.publish('chat:a', 'old')
    const { list, resets } = chatList(client, 'chat:a', 5)
    client.connect()
    await waitFor(() => list.length === 1)
    server.streams.at(-1)!.drop()
    server.loseHistory()
    server.publish('chat:a', 'new1')
    await waitFor(() => resets.length === 1)
    assert.deepEqual(list, ['new1'])
    server.publish('chat:a', 'new2')
    await waitFor(() => list.length === 2)
    await new Promise((r) => setTimeout(r, 10))
    assert.deepEqual(list, ['new1', 'new2'])
    assert.equal(resets.length, 1)
    client.disconnect()
  })

  test('history lost while the start is still being read: the start is delivered from the new stream, no reset', async () => {
    const { client, server } = fakeClient()
    server.publish('chat:a', 'old')
    server.historyAnswer = () => null
    const { list, resets } = chatList(client, 'chat:a', 5)
    client.connect()
    await waitFor(() => historyCommands(server).length === 1)
    server.lastSocket.drop(1006, '')
    server.loseHistory()
    server.publish('chat:a', 'new')
    server.historyAnswer = null
    await waitFor(() => list.length === 1)
    await new Promise((r) => setTimeout(r, 10))
    assert.deepEqual(list, ['new'])
    assert.equal(resets.length, 0)
    client.disconnect()
  })

  test('a history read that fails reports the error and resets with what it has', async () => {
    const { client, server } = fakeClient()
    const { list, resets, errors } = chatList(client, 'chat:a', 5)
    server.publish('chat:a', 'old')
    client.connect()
    await waitFor(() => list.length === 1)
    server.historyAnswer = (cmd) => ({
      id: cmd.id,
      error: { code: 'SWB_ERR_CHANNEL_FORBIDDEN', message: 'no' },
    })
    server.lastSocket.drop(1006, '')
    server.loseHistory()
    await waitFor(() => resets.length === 1)
    assert.deepEqual(list, [])
    assert.equal(errors[0]?.code, 'SWB_ERR_CHANNEL_FORBIDDEN')
    server.publish('chat:a', 'next')
    await waitFor(() => list.length === 1)
    assert.deepEqual(list, ['next'])
    client.disconnect()
  })
})
