import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { z } from 'zod'
import { SwitchboardError } from '../errors/index.ts'
import {
  type ClientInfo,
  type HistoryResult,
  type JoinPush,
  jsonCodec,
  type PresenceResult,
  type PublicationPush,
  type PublishResult,
  parseSseId,
  type SubscribePush,
} from '../protocol/index.ts'
import { Hub } from './hub.ts'
import { SseTransport } from './sse-transport.ts'
import { TestClient, turn } from './test-utils/test-client.ts'
import { wsMsgpackFormat } from './transport.ts'

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

test('a malformed frame closes the session with 3501 and an oversized one with 3503', async () => {
  const hub = new Hub({ maxCommandBytes: 100 })
  try {
    const a = new TestClient(hub)
    a.session.receive('{"id":1,"type":"launch"}')
    assert.equal(a.transport.closedWith?.code, 3501)
    const b = new TestClient(hub)
    b.session.receive(new TextEncoder().encode('{not json'))
    assert.equal(b.transport.closedWith?.code, 3501)
    const c = new TestClient(hub)
    c.session.receive(jsonCodec.encode({ id: 1, type: 'rpc', method: 'x'.repeat(200) }))
    assert.equal(c.transport.closedWith?.code, 3503)
    const d = new TestClient(hub)
    assert.equal(
      (await d.request({ type: 'subscribe', channel: 'a' })).error?.code,
      'SWB_ERR_PROTOCOL_NOT_CONNECTED',
    )
  } finally {
    await hub.close()
  }
})

test('commands sent right behind connect wait for it instead of failing', async () => {
  const hub = new Hub({ auth: async ({ token }) => ({ user: token ?? '' }) })
  try {
    const c = new TestClient(hub)
    c.send({ type: 'connect', token: 'u' })
    const sub = c.request({ type: 'subscribe', channel: 'early' })
    assert.equal((await sub).error, undefined)
  } finally {
    await hub.close()
  }
})

test('subscriptions per session are limited', async () => {
  const hub = new Hub({ maxSubscriptions: 2 })
  try {
    const c = await TestClient.connect(hub)
    await c.request({ type: 'subscribe', channel: 'a' })
    await c.request({ type: 'subscribe', channel: 'b' })
    assert.equal(
      (await c.request({ type: 'subscribe', channel: 'a' })).error?.code,
      'SWB_ERR_CHANNEL_ALREADY_SUBSCRIBED',
    )
    assert.equal(
      (await c.request({ type: 'subscribe', channel: 'c' })).error?.code,
      'SWB_ERR_CHANNEL_TOO_MANY_SUBSCRIPTIONS',
    )
    assert.equal(
      (await c.request({ type: 'unsubscribe', channel: 'z' })).error?.code,
      'SWB_ERR_CHANNEL_NOT_SUBSCRIBED',
    )
  } finally {
    await hub.close()
  }
})

test('HTTP POST commands publish and call rpc statelessly with a bearer token', async () => {
  const hub = new Hub({
    auth: ({ token }) => {
      if (token !== 'good') throw new SwitchboardError('SWB_ERR_AUTH_UNAUTHORIZED')
      return { user: 'poster' }
    },
    namespaces: { chat: { clientPublish: true } },
  })
  hub.rpc('echo', (d) => d)
  try {
    const sub = await TestClient.connect(hub, 'good')
    await sub.request({ type: 'subscribe', channel: 'chat:a' })
    const pub = await hub.httpCommand(
      { id: 7, type: 'publish', channel: 'chat:a', data: 'via post' },
      { token: 'good' },
    )
    assert.deepEqual(
      [pub.status, pub.body.id, (pub.body.result as PublishResult).offset],
      [200, 7, 1],
    )
    const rpc = await hub.httpCommand(
      { id: 8, type: 'rpc', method: 'echo', data: [1] },
      { token: 'good' },
    )
    assert.deepEqual(rpc, { status: 200, body: { id: 8, result: { data: [1] } } })
    const denied = await hub.httpCommand(
      { id: 9, type: 'publish', channel: 'chat:a', data: 1 },
      { token: 'bad' },
    )
    assert.deepEqual([denied.status, denied.body.error?.code], [401, 'SWB_ERR_AUTH_UNAUTHORIZED'])
    const bad = await hub.httpCommand(
      { id: 10, type: 'subscribe', channel: 'x' },
      { token: 'good' },
    )
    assert.deepEqual([bad.status, bad.body.error?.code], [400, 'SWB_ERR_PROTOCOL_BAD_COMMAND'])
    const junk = await hub.httpCommand('junk', { token: 'good' })
    assert.equal(junk.status, 400)
    await turn()
    const p = sub.pushes<PublicationPush>('publication')[0]!
    assert.deepEqual([p.data, p.info?.user, p.info?.client], ['via post', 'poster', ''])
  } finally {
    await hub.close()
  }
})

test('an SSE stream of two channels resumes both from Last-Event-ID alone', async () => {
  const hub = new Hub({ auth: identify })
  try {
    const channels = ['a', 'b']
    let text = ''
    const sink = {
      write(t: string) {
        text += t
        return true
      },
      close() {},
    }
    const ticket = hub.issueTicket({ user: 'viewer' }, { channels })
    const first = await hub.openStream({ channels, ticket }, () => new SseTransport(sink, channels))
    await hub.publish('a', 'a1')
    await hub.publish('b', 'b1')
    await hub.publish('a', 'a2')
    await turn()
    const ids = [...text.matchAll(/^id: (.*)$/gm)].map((m) => m[1]!)
    const lastId = ids.at(-1)!
    const cursors = parseSseId(lastId, channels)!
    assert.deepEqual([cursors.get('a')?.offset, cursors.get('b')?.offset], [2, 1])
    first.closed()
    // Missed while disconnected.
    await hub.publish('b', 'b2')
    await hub.publish('a', 'a3')
    text = ''
    const second = await hub.openStream(
      { channels, ticket, lastEventId: lastId },
      () => new SseTransport(sink, channels),
    )
    await turn()
    const events = text.split('\n\n').filter((e) => e.length > 0)
    const subs = events
      .filter((e) => e.includes('event: subscribe'))
      .map((e) => JSON.parse(e.split('data: ')[1]!))
    assert.deepEqual(
      subs.map((s) => [s.channel, s.recovered]),
      [
        ['a', true],
        ['b', true],
      ],
    )
    const pubs = events
      .filter((e) => e.includes('event: publication'))
      .map((e) => JSON.parse(e.split('data: ')[1]!).data)
    assert.deepEqual(pubs, ['a3', 'b2'])
    assert.equal(second.user, 'viewer')
    await hub.publish('a', 'a4')
    await turn()
    assert.match(text, /"data":"a4"/)
    await assert.rejects(
      hub.openStream({ channels: [], ticket }, () => new SseTransport(sink, [])),
      { code: 'SWB_ERR_PROTOCOL_BAD_COMMAND', status: 400 },
    )
    await assert.rejects(
      hub.openStream(
        { channels: ['a'], ticket: 'bogus.ticket' },
        () => new SseTransport(sink, ['a']),
      ),
      { code: 'SWB_ERR_AUTH_UNAUTHORIZED', status: 401 },
    )
  } finally {
    await hub.close()
  }
})

test('a connection may have only maxInflight commands in progress; the rest are refused, not queued', async () => {
  const hub = new Hub({ maxInflight: 2 })
  let release!: () => void
  const gate = new Promise<void>((r) => {
    release = r
  })
  hub.rpc('slow', () => gate)
  try {
    const c = await TestClient.connect(hub)
    const first = c.request({ type: 'rpc', method: 'slow' })
    const second = c.request({ type: 'rpc', method: 'slow' })
    const third = await c.request({ type: 'rpc', method: 'slow' })
    assert.equal(third.error?.code, 'SWB_ERR_PROTOCOL_TOO_MANY_REQUESTS')
    assert.equal(third.error?.temporary, true)
    release()
    assert.equal((await first).error, undefined)
    assert.equal((await second).error, undefined)
    assert.equal((await c.request({ type: 'ping' })).error, undefined)
  } finally {
    await hub.close()
  }
})

test('a value JSON cannot carry, published over MessagePack, still reaches JSON subscribers', async () => {
  const hub = new Hub({ namespaces: { n: { clientPublish: true } } })
  try {
    const json = await TestClient.connect(hub)
    const pack = await TestClient.connect(hub, undefined, wsMsgpackFormat)
    for (const c of [json, pack]) await c.request({ type: 'subscribe', channel: 'n:big' })
    const r = await pack.request({
      type: 'publish',
      channel: 'n:big',
      data: { small: 7n, big: 2n ** 63n - 1n },
    })
    assert.equal(r.error, undefined)
    await turn()
    assert.deepEqual(json.pushes<PublicationPush>('publication')[0]?.data, {
      small: 7,
      big: '9223372036854775807',
    })
    assert.equal(
      (pack.pushes<PublicationPush>('publication')[0]!.data as { big: bigint }).big,
      2n ** 63n - 1n,
    )
  } finally {
    await hub.close()
  }
})

test('arbitrary frames never crash the hub: each is answered, or closes the session with a coded disconnect', async () => {
  const hub = new Hub({ namespaces: { n: { clientPublish: true, presence: true } } })
  try {
    const command = fc.record(
      {
        id: fc.oneof(fc.integer({ min: -2, max: 5 }), fc.constant(1.5), fc.string()),
        type: fc.constantFrom(
          'connect',
          'subscribe',
          'unsubscribe',
          'publish',
          'rpc',
          'presence',
          'history',
          'ping',
          'refresh',
          'nope',
        ),
        channel: fc.oneof(fc.constantFrom('n:a', 'a', 'x:y', ''), fc.string()),
        since: fc.oneof(
          fc.record({ offset: fc.integer({ min: -1, max: 3 }), epoch: fc.string() }),
          fc.anything(),
        ),
        data: fc.anything(),
        limit: fc.oneof(fc.integer(), fc.anything()),
        token: fc.anything(),
        method: fc.string(),
      },
      { requiredKeys: [] },
    )
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(command, fc.anything()), { maxLength: 8 }),
        async (frames) => {
          const c = new TestClient(hub)
          for (const f of frames) {
            let text: string
            try {
              text = JSON.stringify(f) ?? 'null'
            } catch {
              continue
            }
            c.session.receive(text)
          }
          await turn(4)
          for (const m of c.transport.messages) {
            const reply = m as { id?: number; error?: { code: string } }
            if (reply.error) assert.match(reply.error.code, /^SWB_ERR_/)
          }
          if (c.transport.closedWith !== null) assert.ok(c.transport.closedWith.code >= 3000)
          c.session.closed()
        },
      ),
      { numRuns: 150 },
    )
    assert.equal(hub.connectionCount, 0)
  } finally {
    await hub.close()
  }
})
