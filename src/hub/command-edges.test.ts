// Commands at the edges: malformed and arbitrary frames, limits, commands behind connect, the
// HTTP POST and SSE sides, and values one wire format cannot carry.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { SwitchboardError } from '../errors/index.ts'
import {
  jsonCodec,
  type PublicationPush,
  type PublishResult,
  parseSseId,
} from '../protocol/index.ts'
import { Hub } from './hub.ts'
import { SseTransport } from './sse-transport.ts'
import { TestClient, turn } from './test-utils/test-client.ts'
import { wsMsgpackFormat } from './transport.ts'

const identify = ({ token }: { token?: string }) => ({ user: token ?? '', info: { name: token } })
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
