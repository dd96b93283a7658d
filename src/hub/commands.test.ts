import assert from 'node:assert/strict'
import { test } from 'node:test'
import { z } from 'zod'
import { SwitchboardError } from '../errors/index.ts'
import type {
  ClientInfo,
  HistoryResult,
  JoinPush,
  PresenceResult,
  PublicationPush,
  PublishResult,
  SubscribePush,
} from '../protocol/index.ts'
import { Hub } from './hub.ts'
import { TestClient, turn } from './test-utils/test-client.ts'

const identify = ({ token }: { token?: string }) => ({ user: token ?? '', info: { name: token } })

test('a publication failing the namespace schema is refused with SWB_ERR_CHANNEL_SCHEMA and publishes nothing', async () => {
  const hub = new Hub({
    namespaces: {
      chat: { clientPublish: true, schema: z.object({ text: z.string().min(1).max(20) }) },
    },
  })
  try {
    const c = await TestClient.connect(hub)
    await c.request({ type: 'subscribe', channel: 'chat:a' })
    const bad = await c.request({ type: 'publish', channel: 'chat:a', data: { text: 42 } })
    assert.equal(bad.error?.code, 'SWB_ERR_CHANNEL_SCHEMA')
    assert.match(bad.error!.message, /text/)
    const ok = await c.request<PublishResult>({
      type: 'publish',
      channel: 'chat:a',
      data: { text: 'hi', extra: 1 },
    })
    assert.equal(ok.result?.offset, 1, 'the refused publication took no offset')
    await turn()
    assert.deepEqual(
      c.pushes<PublicationPush>('publication').map((p) => p.data),
      [{ text: 'hi' }],
      'subscribers get the validated value',
    )
    await assert.rejects(hub.publish('chat:a', { text: '' }), { code: 'SWB_ERR_CHANNEL_SCHEMA' })
    assert.equal((await hub.history('chat:a')).publications.length, 1)
  } finally {
    await hub.close()
  }
})

test('clients may publish only where the namespace allows it and canPublish agrees', async () => {
  const hub = new Hub({
    auth: identify,
    namespaces: {
      ro: {},
      mod: { clientPublish: true, canPublish: ({ user }, data) => user === 'mod' || data === 'ok' },
    },
  })
  try {
    const c = await TestClient.connect(hub, 'anne')
    assert.equal(
      (await c.request({ type: 'publish', channel: 'ro:x', data: 1 })).error?.code,
      'SWB_ERR_CHANNEL_PUBLISH_DISABLED',
    )
    assert.equal(
      (await c.request({ type: 'publish', channel: 'mod:x', data: 'no' })).error?.code,
      'SWB_ERR_CHANNEL_FORBIDDEN',
    )
    assert.equal(
      (await c.request({ type: 'publish', channel: 'mod:x', data: 'ok' })).error,
      undefined,
    )
    assert.equal(
      (await c.request({ type: 'publish', channel: 'nope:x', data: 1 })).error?.code,
      'SWB_ERR_CHANNEL_UNKNOWN_NAMESPACE',
    )
    assert.equal(
      (await c.request({ type: 'publish', channel: 'bad name', data: 1 })).error?.code,
      'SWB_ERR_CHANNEL_INVALID_NAME',
    )
  } finally {
    await hub.close()
  }
})

test('a retried publish with the same idempotency key is applied once', async () => {
  const hub = new Hub({ namespaces: { n: { clientPublish: true } } })
  try {
    const c = await TestClient.connect(hub)
    await c.request({ type: 'subscribe', channel: 'n:a' })
    const a = await c.request<PublishResult>({
      type: 'publish',
      channel: 'n:a',
      data: 'x',
      idempotencyKey: 'k-1',
    })
    const b = await c.request<PublishResult>({
      type: 'publish',
      channel: 'n:a',
      data: 'x',
      idempotencyKey: 'k-1',
    })
    assert.deepEqual([a.result?.offset, a.result?.duplicate], [1, undefined])
    assert.deepEqual([b.result?.offset, b.result?.duplicate], [1, true])
    await turn()
    assert.equal(c.pushes('publication').length, 1)
    assert.equal(hub.stats.published, 1)
  } finally {
    await hub.close()
  }
})

test('rpc calls reach their handler and answer with data or a coded error', async () => {
  const hub = new Hub({ auth: identify })
  hub.rpc('whoami', (_data, ctx) => ({ user: ctx.user, hasSession: ctx.session !== null }))
  hub.rpc('fail', () => {
    throw new SwitchboardError('APP_ERR_NOPE', 'nope')
  })
  hub.rpc('crash', () => {
    throw new Error('secret detail')
  })
  try {
    const c = await TestClient.connect(hub, 'kim')
    assert.deepEqual((await c.request({ type: 'rpc', method: 'whoami' })).result, {
      data: { user: 'kim', hasSession: true },
    })
    assert.deepEqual((await c.request({ type: 'rpc', method: 'fail' })).error, {
      code: 'APP_ERR_NOPE',
      message: 'nope',
    })
    const crash = await c.request({ type: 'rpc', method: 'crash' })
    assert.equal(crash.error?.code, 'SWB_ERR_RPC_FAILED')
    assert.doesNotMatch(crash.error!.message, /secret/)
    assert.equal(
      (await c.request({ type: 'rpc', method: 'nope' })).error?.code,
      'SWB_ERR_RPC_NOT_FOUND',
    )
    assert.deepEqual((await c.request({ type: 'ping' })).result, {})
  } finally {
    await hub.close()
  }
})

test('presence lists members, pushes join and leave, and reports counts only above the threshold', async () => {
  const hub = new Hub({
    auth: identify,
    namespaces: { room: { presence: true, joinLeave: true, presenceMaxMembers: 2 } },
  })
  try {
    const a = await TestClient.connect(hub, 'ann')
    await a.request({ type: 'subscribe', channel: 'room:1' })
    const b = await TestClient.connect(hub, 'bob')
    await b.request({ type: 'subscribe', channel: 'room:1' })
    await turn()
    const joins = a.pushes<JoinPush>('join').map((j) => j.info.user)
    assert.deepEqual(joins, ['bob'])
    const p = (await a.request<PresenceResult>({ type: 'presence', channel: 'room:1' })).result!
    assert.equal(p.count, 2)
    assert.deepEqual(
      p
        .members!.map((m: ClientInfo) => [
          m.user,
          m.client === a.session.id || m.client === b.session.id,
        ])
        .sort(),
      [
        ['ann', true],
        ['bob', true],
      ],
    )
    const c = await TestClient.connect(hub, 'cid')
    await c.request({ type: 'subscribe', channel: 'room:1' })
    await turn()
    assert.equal(a.pushes('join').length, 1, 'no join push above the member threshold')
    assert.deepEqual(await hub.presence('room:1'), { count: 3 }, 'counts only above the threshold')
    c.session.closed() // 3 -> 2 members: the channel was above the threshold, so no leave push
    await turn()
    assert.equal(a.pushes('leave').length, 0)
    b.session.closed()
    await turn()
    assert.equal(await hub.presenceCount('room:1'), 1)
    assert.deepEqual(
      a.pushes<JoinPush>('leave').map((l) => l.info.user),
      ['bob'],
    )
    const plain = await TestClient.connect(hub)
    assert.equal(
      (await plain.request({ type: 'presence', channel: 'other' })).error?.code,
      'SWB_ERR_CHANNEL_PRESENCE_DISABLED',
    )
  } finally {
    await hub.close()
  }
})

test('history answers the kept publications after a position, capped by limit', async () => {
  const hub = new Hub({ maxHistoryLimit: 3, namespaces: { off: { historySize: 0 } } })
  try {
    for (let i = 1; i <= 6; i++) await hub.publish('h', i)
    const c = await TestClient.connect(hub)
    const all = (await c.request<HistoryResult>({ type: 'history', channel: 'h', limit: 100 }))
      .result!
    assert.deepEqual(
      all.publications.map((p) => p.data),
      [1, 2, 3],
    )
    const after = (
      await c.request<HistoryResult>({
        type: 'history',
        channel: 'h',
        since: { offset: 4, epoch: all.epoch },
      })
    ).result!
    assert.deepEqual(
      after.publications.map((p) => p.data),
      [5, 6],
    )
    assert.equal(
      (await c.request({ type: 'history', channel: 'off:x' })).error?.code,
      'SWB_ERR_CHANNEL_HISTORY_DISABLED',
    )
  } finally {
    await hub.close()
  }
})

test('sendToUser reaches every connection of that user and nobody else', async () => {
  const hub = new Hub({ auth: identify })
  try {
    const a1 = await TestClient.connect(hub, 'ann')
    const a2 = await TestClient.connect(hub, 'ann')
    const b = await TestClient.connect(hub, 'bob')
    await hub.sendToUser('ann', { hello: 1 })
    await turn()
    assert.deepEqual(a1.pushes('message'), [{ type: 'message', data: { hello: 1 } }])
    assert.deepEqual(a2.pushes('message'), [{ type: 'message', data: { hello: 1 } }])
    assert.deepEqual(b.pushes('message'), [])
    assert.equal(hub.userCount, 2)
    assert.equal(hub.sessionsOf('ann').length, 2)
  } finally {
    await hub.close()
  }
})

test('disconnect by user or session sends the code, its reconnect policy, and closes', async () => {
  const hub = new Hub({ auth: identify })
  try {
    const a = await TestClient.connect(hub, 'ann')
    const b = await TestClient.connect(hub, 'bob')
    await hub.disconnect('ann', 3502, 'banned')
    await hub.disconnect(b.session, 4001, 'app says bye')
    assert.deepEqual(a.pushes('disconnect'), [
      { type: 'disconnect', code: 3502, reason: 'banned', reconnect: false },
    ])
    assert.deepEqual(a.transport.closedWith, { code: 3502, reason: 'banned' })
    assert.deepEqual(b.pushes('disconnect'), [
      { type: 'disconnect', code: 4001, reason: 'app says bye', reconnect: true },
    ])
    assert.equal(hub.connectionCount, 0)
    await assert.rejects(hub.disconnect('x', 1000), { code: 'SWB_ERR_INVALID_OPTION' })
  } finally {
    await hub.close()
  }
})

test('server-side subscribe and unsubscribe push to the client and change delivery', async () => {
  const hub = new Hub({ auth: identify })
  try {
    const a = await TestClient.connect(hub, 'ann')
    await hub.subscribe('ann', 'feed')
    await turn()
    const sub = a.pushes<SubscribePush>('subscribe')[0]!
    assert.deepEqual([sub.channel, sub.offset, sub.recoverable], ['feed', 0, true])
    await hub.publish('feed', 'one')
    await hub.unsubscribe('ann', 'feed')
    await hub.publish('feed', 'two')
    await turn()
    assert.deepEqual(
      a.pushes<PublicationPush>('publication').map((p) => p.data),
      ['one'],
    )
    assert.deepEqual(a.pushes('unsubscribe'), [
      { type: 'unsubscribe', channel: 'feed', code: 3504, reason: 'unsubscribed by the server' },
    ])
  } finally {
    await hub.close()
  }
})
