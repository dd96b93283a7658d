import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { PublicationPush, ServerMessage, SubscribeResult } from '../protocol/index.ts'
import { Hub } from './hub.ts'
import { SseTransport } from './sse-transport.ts'
import { TestClient, turn } from './test-utils/test-client.ts'
import {
  type Frame,
  sseFormat,
  type WireFormat,
  wsJsonFormat,
  wsMsgpackFormat,
} from './transport.ts'

/** Wraps a format so its prepare calls are counted. */
function counted(format: WireFormat): WireFormat & { calls: Map<string, number> } {
  const calls = new Map<string, number>()
  return {
    name: format.name,
    codec: format.codec,
    calls,
    prepare(message: ServerMessage): Frame {
      const type = (message as { type?: string }).type ?? 'reply'
      calls.set(type, (calls.get(type) ?? 0) + 1)
      return format.prepare(message)
    },
  }
}

test('one publication is encoded once per wire format whatever the number of subscribers', async () => {
  const hub = new Hub()
  try {
    const json = counted(wsJsonFormat)
    const msgpack = counted(wsMsgpackFormat)
    const clients: TestClient[] = []
    for (let i = 0; i < 30; i++)
      clients.push(await TestClient.connect(hub, undefined, i % 3 === 0 ? msgpack : json))
    for (const c of clients)
      assert.equal((await c.request({ type: 'subscribe', channel: 'news' })).error, undefined)
    await hub.publish('news', { headline: 'once' })
    await hub.publish('news', { headline: 'twice' })
    await turn()
    assert.equal(json.calls.get('publication'), 2, 'JSON encoded once per publication')
    assert.equal(msgpack.calls.get('publication'), 2, 'MessagePack encoded once per publication')
    for (const c of clients) {
      const pubs = c.pushes<PublicationPush>('publication')
      assert.deepEqual(
        pubs.map((p) => p.data),
        [{ headline: 'once' }, { headline: 'twice' }],
      )
    }
    // The very same frame object is queued to every subscriber of a format.
    const frames = clients
      .filter((_, i) => i % 3 !== 0)
      .map((c) => c.transport.frames.find((f) => f.publication))
    assert.ok(frames.every((f) => f === frames[0]))
  } finally {
    await hub.close()
  }
})

test('SSE streams share one encoded event per publication; only the id line is per stream', async () => {
  const hub = new Hub()
  try {
    const sse = counted(sseFormat)
    const texts: string[] = []
    for (let i = 0; i < 20; i++) {
      const at = texts.push('') - 1
      const sink = {
        write(t: string) {
          texts[at] += t
          return true
        },
        close() {},
      }
      await hub.openStream(
        { channels: ['live', `own-${i}`] },
        () => new SseTransport(sink, ['live', `own-${i}`], sse),
      )
    }
    await hub.publish('live', { tick: 1 })
    await turn()
    assert.equal(sse.calls.get('publication'), 1)
    for (const text of texts)
      assert.match(text, /id: 1,0\.1\.[A-Za-z0-9_-]+,1\.0\.[A-Za-z0-9_-]+\nevent: publication\n/)
  } finally {
    await hub.close()
  }
})

test('one publication reaches WebSocket JSON, MessagePack and SSE subscribers with the same offset and payload', async () => {
  const hub = new Hub()
  try {
    const wsJson = await TestClient.connect(hub)
    const wsPack = await TestClient.connect(hub, undefined, wsMsgpackFormat)
    await wsJson.request({ type: 'subscribe', channel: 'x' })
    await wsPack.request({ type: 'subscribe', channel: 'x' })
    const written: string[] = []
    const sink = { write: (t: string) => written.push(t) > 0, close() {} }
    let transport: SseTransport | null = null
    await hub.openStream({ channels: ['x'] }, () => {
      transport = new SseTransport(sink, ['x'])
      return transport
    })
    const { offset, epoch } = await hub.publish('x', { n: 1, s: 'é' })
    await turn()
    const a = wsJson.pushes<PublicationPush>('publication')[0]!
    const b = wsPack.pushes<PublicationPush>('publication')[0]!
    const text = written.join('')
    const events = text.split('\n\n').filter((e) => e.includes('event: publication'))
    assert.equal(events.length, 1)
    const sse = JSON.parse(
      events[0]!
        .split('\n')
        .find((l) => l.startsWith('data: '))!
        .slice(6),
    ) as PublicationPush
    for (const p of [a, b, sse]) {
      assert.deepEqual(
        [p.channel, p.offset, p.epoch, p.data],
        ['x', offset, epoch, { n: 1, s: 'é' }],
      )
    }
    assert.match(events[0]!, new RegExp(`^id: 1,0\\.${offset.toString(36)}\\.${epoch}\\n`))
    assert.equal(sseFormat.name, 'sse')
  } finally {
    await hub.close()
  }
})

test('order per channel holds with concurrent publishers', async () => {
  const hub = new Hub({ namespaces: { room: { clientPublish: true, historySize: 1000 } } })
  try {
    const subscribers = await Promise.all([1, 2, 3].map(() => TestClient.connect(hub)))
    for (const s of subscribers) await s.request({ type: 'subscribe', channel: 'room:1' })
    const publishers = await Promise.all([1, 2, 3, 4].map(() => TestClient.connect(hub)))
    const sends: Promise<unknown>[] = []
    for (let i = 0; i < 50; i++) {
      for (const [k, p] of publishers.entries())
        sends.push(p.request({ type: 'publish', channel: 'room:1', data: { k, i } }))
      sends.push(hub.publish('room:1', { server: i }))
    }
    await Promise.all(sends)
    await turn()
    const total = 50 * 5
    const reference = subscribers[0]!.pushes<PublicationPush>('publication')
    assert.equal(reference.length, total)
    assert.deepEqual(
      reference.map((p) => p.offset),
      Array.from({ length: total }, (_, i) => i + 1),
    )
    for (const s of subscribers) {
      assert.deepEqual(
        s.pushes<PublicationPush>('publication').map((p) => [p.offset, p.data]),
        reference.map((p) => [p.offset, p.data]),
      )
    }
    // Each publisher's own messages stay in the order it sent them.
    for (let k = 0; k < 4; k++) {
      const mine = reference
        .filter((p) => (p.data as { k?: number }).k === k)
        .map((p) => (p.data as { i: number }).i)
      assert.deepEqual(
        mine,
        Array.from({ length: 50 }, (_, i) => i),
      )
    }
    const history = await hub.history('room:1')
    assert.deepEqual(
      history.publications.map((p) => p.data),
      reference.map((p) => p.data),
    )
  } finally {
    await hub.close()
  }
})

test('each session is written at most once per event-loop turn, whatever the number of publications', async () => {
  const hub = new Hub()
  try {
    const c = await TestClient.connect(hub)
    await c.request({ type: 'subscribe', channel: 'burst' })
    await turn()
    const before = c.transport.writes
    for (let i = 0; i < 100; i++) void hub.publish('burst', i)
    await turn(1)
    await turn()
    assert.equal(c.pushes('publication').length, 100)
    assert.equal(c.transport.writes - before, 1)
  } finally {
    await hub.close()
  }
})

test('a subscribe answer carries the stream position and recoverability', async () => {
  const hub = new Hub({ namespaces: { nohist: { historySize: 0 } } })
  try {
    await hub.publish('plain', 1)
    await hub.publish('plain', 2)
    const c = await TestClient.connect(hub)
    const r = await c.request<SubscribeResult>({ type: 'subscribe', channel: 'plain' })
    assert.equal(r.result?.offset, 2)
    assert.equal(r.result?.recoverable, true)
    const n = await c.request<SubscribeResult>({ type: 'subscribe', channel: 'nohist:a' })
    assert.equal(n.result?.recoverable, false)
    assert.equal(hub.channelCount, 2)
    assert.equal(hub.connectionCount, 1)
    assert.equal(hub.subscriberCount('plain'), 1)
  } finally {
    await hub.close()
  }
})

test('a wire format failing to encode one publication does not stop delivery to the others', async () => {
  const errors: unknown[] = []
  const hub = new Hub({ onError: (e) => errors.push(e) })
  try {
    const fussy: WireFormat = {
      name: 'fussy',
      codec: wsJsonFormat.codec,
      prepare(message) {
        if ((message as { data?: unknown }).data === 'poison') throw new TypeError('cannot encode')
        return wsJsonFormat.prepare(message)
      },
    }
    const bad = await TestClient.connect(hub, undefined, fussy)
    const good = await TestClient.connect(hub)
    for (const c of [bad, good]) await c.request({ type: 'subscribe', channel: 'mixed' })
    await hub.publish('mixed', 'poison')
    await hub.publish('mixed', 'fine')
    await turn()
    assert.deepEqual(
      good.pushes<PublicationPush>('publication').map((p) => p.data),
      ['poison', 'fine'],
    )
    assert.deepEqual(
      bad.transport.messages.filter((m) => 'type' in m).map((m) => (m as { type: string }).type),
      ['gap', 'publication'],
    )
    assert.equal(errors.length, 1)
  } finally {
    await hub.close()
  }
})
