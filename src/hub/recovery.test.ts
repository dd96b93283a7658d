import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { MemoryBroker } from '../broker/index.ts'
import type { PublicationPush, Reply, StreamPosition, SubscribeResult } from '../protocol/index.ts'
import { Hub } from './hub.ts'
import { SseTransport } from './sse-transport.ts'
import { TestClient, turn } from './test-utils/test-client.ts'

const WINDOW = 8

interface ModelClient {
  client: TestClient | null
  /** Position of the last publication this client has seen. */
  last: StreamPosition | null
  /** Every offset received, in order, across sessions. */
  received: number[]
  /** How many messages of the current session's transport were already read. */
  read: number
}

/** Reads what the session wrote since last time, checking order and continuity. */
function absorb(m: ModelClient, published: number[]): void {
  const c = m.client
  if (c === null) return
  const msgs = c.transport.messages
  for (; m.read < msgs.length; m.read++) {
    const msg = msgs[m.read] as PublicationPush
    if (msg.type !== 'publication') continue
    assert.equal(
      msg.offset,
      m.last!.offset + 1,
      'live publications follow on without holes or repeats',
    )
    assert.deepEqual(msg.data, { n: published[msg.offset - 1] })
    m.received.push(msg.offset)
    // A push names the epoch only when it changes, as a client tracks it.
    m.last = { offset: msg.offset, epoch: msg.epoch ?? m.last!.epoch }
  }
}

test('live and recovered publications add up to exactly what was published, or recovered is false outside the window', async () => {
  const op = fc.oneof(
    {
      arbitrary: fc.record({
        kind: fc.constant('publish' as const),
        count: fc.integer({ min: 1, max: 4 }),
      }),
      weight: 4,
    },
    {
      arbitrary: fc.record({
        kind: fc.constant('toggle' as const),
        who: fc.integer({ min: 0, max: 2 }),
      }),
      weight: 2,
    },
    { arbitrary: fc.record({ kind: fc.constant('tick' as const) }), weight: 1 },
  )
  let outsideTotal = 0
  let recoveredTotal = 0
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 20, maxLength: 60 }), async (ops) => {
      const hub = new Hub({ namespaces: { m: { historySize: WINDOW } } })
      const published: number[] = []
      const clients: ModelClient[] = [0, 1, 2].map(() => ({
        client: null,
        last: null,
        received: [],
        read: 0,
      }))
      try {
        for (const step of ops) {
          if (step.kind === 'publish') {
            for (let i = 0; i < step.count; i++) {
              published.push(published.length + 1)
              const r = await hub.publish('m:stream', { n: published.length })
              assert.equal(r.offset, published.length)
            }
          } else if (step.kind === 'tick') {
            await turn()
            for (const m of clients) absorb(m, published)
          } else {
            const m = clients[step.who]!
            if (m.client !== null) {
              // Abrupt loss: whatever was not yet written is gone for this session.
              absorb(m, published)
              m.client.session.closed()
              m.client = null
              continue
            }
            m.client = await TestClient.connect(hub)
            m.read = 0
            const since = m.last
            const r = (await m.client.request({
              type: 'subscribe',
              channel: 'm:stream',
              ...(since === null ? null : { since }),
            })) as Reply<SubscribeResult>
            const res = r.result!
            m.read = m.client.transport.messages.indexOf(r) + 1
            if (since !== null) {
              const missed = published.length - since.offset
              assert.equal(
                res.recovered,
                missed <= WINDOW,
                `missed ${missed} with a window of ${WINDOW}`,
              )
              if (res.recovered) {
                const offs = (res.publications ?? []).map((p) => p.offset)
                assert.deepEqual(
                  offs,
                  Array.from({ length: missed }, (_, i) => since.offset + 1 + i),
                )
                for (const p of res.publications ?? [])
                  assert.deepEqual(p.data, { n: published[p.offset - 1] })
                m.received.push(...offs)
                recoveredTotal++
              } else {
                outsideTotal++
                assert.equal(res.publications, undefined, 'never a partial set')
                m.received.push(-1) // boundary marker: continuity restarts here
              }
            }
            m.last = { offset: res.offset, epoch: res.epoch }
            absorb(m, published)
          }
        }
        await turn()
        for (const m of clients) {
          absorb(m, published)
          if (m.client !== null)
            assert.equal(m.last!.offset, published.length, 'a connected client is up to date')
          // No duplicates and no holes inside each unbroken run.
          let prev: number | null = null
          for (const off of m.received) {
            if (off === -1) {
              prev = null
              continue
            }
            if (prev !== null) assert.equal(off, prev + 1)
            prev = off
          }
        }
      } finally {
        await hub.close()
      }
    }),
    { numRuns: 60 },
  )
  assert.ok(
    recoveredTotal > 0 && outsideTotal > 0,
    `both outcomes ran: ${recoveredTotal} recovered, ${outsideTotal} not`,
  )
})

test('a client resubscribing after missing more than the window gets recovered: false and no publications', async () => {
  const hub = new Hub({ namespaces: { m: { historySize: 3 } } })
  try {
    const c = await TestClient.connect(hub)
    const first = (await c.request<SubscribeResult>({ type: 'subscribe', channel: 'm:a' })).result!
    for (let i = 0; i < 5; i++) await hub.publish('m:a', i)
    const again = await TestClient.connect(hub)
    const r = (
      await again.request<SubscribeResult>({ type: 'subscribe', channel: 'm:a', since: first })
    ).result!
    assert.equal(r.recovered, false)
    assert.equal(r.publications, undefined)
    assert.equal(r.offset, 5)
  } finally {
    await hub.close()
  }
})

test('the epoch changes when the memory broker restarts, so old positions do not recover', async () => {
  const before = new Hub({ broker: new MemoryBroker() })
  const c1 = await TestClient.connect(before)
  await c1.request({ type: 'subscribe', channel: 'restart' })
  const pos = await before.publish('restart', 'a')
  await before.close()
  assert.deepEqual(c1.pushes('disconnect'), [
    { type: 'disconnect', code: 3000, reason: 'server shutting down', reconnect: true },
  ])

  const after = new Hub({ broker: new MemoryBroker() })
  try {
    await after.publish('restart', 'b')
    const c2 = await TestClient.connect(after)
    const r = (
      await c2.request<SubscribeResult>({ type: 'subscribe', channel: 'restart', since: pos })
    ).result!
    assert.notEqual(r.epoch, pos.epoch)
    assert.equal(r.recovered, false)
  } finally {
    await after.close()
  }
})

test('publications racing with a subscribe are neither lost nor repeated', async () => {
  const hub = new Hub()
  try {
    for (let i = 1; i <= 3; i++) await hub.publish('race', i)
    const c = await TestClient.connect(hub)
    const since = { offset: 1, epoch: (await hub.history('race', { limit: 0 })).epoch }
    const reply = c.request<SubscribeResult>({ type: 'subscribe', channel: 'race', since })
    // Published while the subscribe is being answered.
    const late = [hub.publish('race', 4), hub.publish('race', 5)]
    const r = (await reply).result!
    await Promise.all(late)
    await turn()
    const recovered = (r.publications ?? []).map((p) => p.offset)
    const live = c.pushes<PublicationPush>('publication').map((p) => p.offset)
    const all = [...recovered, ...live]
    assert.deepEqual(all, [2, 3, 4, 5])
  } finally {
    await hub.close()
  }
})

test('a stream resumed with since delivers recovered then racing live publications in order, once each', async () => {
  const hub = new Hub()
  try {
    for (let i = 1; i <= 3; i++) await hub.publish('s', i)
    const { epoch } = await hub.history('s', { limit: 0 })
    let text = ''
    const transport = new SseTransport(
      {
        write(t: string) {
          text += t
          return true
        },
        close() {},
      },
      ['s'],
    )
    const opening = hub.openStream(
      { channels: ['s'], lastEventId: `1,0.1.${epoch}` },
      () => transport,
    )
    for (let i = 4; i <= 8; i++) await hub.publish('s', i)
    await opening
    await turn()
    const offsets = [...text.matchAll(/^data: (\{"type":"publication".*)$/gm)].map(
      (m) => (JSON.parse(m[1]!) as PublicationPush).offset,
    )
    assert.deepEqual(offsets, [2, 3, 4, 5, 6, 7, 8])
    assert.deepEqual(transport.cursors, [{ channel: 's', offset: 8, epoch }])
  } finally {
    await hub.close()
  }
})

test('a live delivery lost between broker and node shows up as a gap marker, not a silent hole', async () => {
  const broker = new MemoryBroker()
  const start = broker.start.bind(broker)
  // A broker whose cross-node delivery loses offset 3 (live delivery is at most once).
  broker.start = (handler) =>
    start({
      ...handler,
      onPublication(channel, pub, epoch) {
        if (pub.offset !== 3) handler.onPublication(channel, pub, epoch)
      },
    })
  const hub = new Hub({ broker })
  try {
    const c = await TestClient.connect(hub)
    await c.request({ type: 'subscribe', channel: 'lossy' })
    for (let i = 1; i <= 4; i++) await hub.publish('lossy', i)
    await turn()
    const seen = c.transport.messages
      .filter(
        (m) =>
          (m as { type?: string }).type === 'publication' ||
          (m as { type?: string }).type === 'gap',
      )
      .map((m) =>
        (m as { type: string }).type === 'gap'
          ? `gap ${(m as { from: number }).from}-${(m as { to: number }).to}`
          : (m as PublicationPush).offset,
      )
    assert.deepEqual(seen, [1, 2, 'gap 3-3', 4])
    const h = await c.request<{ publications: { offset: number }[] }>({
      type: 'history',
      channel: 'lossy',
      since: { offset: 2, epoch: c.pushes<PublicationPush>('publication')[0]!.epoch! },
      limit: 1,
    })
    assert.equal(h.result?.publications[0]?.offset, 3, 'the client can fetch the lost range')
  } finally {
    await hub.close()
  }
})

test('a live subscriber learns with a gap naming the new epoch when its stream is replaced', async () => {
  const broker = new MemoryBroker()
  const hub = new Hub({ broker, namespaces: { m: { historySize: WINDOW } } })
  try {
    const c = await TestClient.connect(hub)
    await c.request({ type: 'subscribe', channel: 'm:lost' })
    const first = await hub.publish('m:lost', { n: 1 })
    await hub.publish('m:lost', { n: 2 })
    // History lost under the subscriber (as when Redis restarts empty): a new stream begins.
    await broker.removeHistory('m:lost')
    const next = await hub.publish('m:lost', { n: 1 })
    assert.notEqual(next.epoch, first.epoch)
    await turn()
    const pushes = c.transport.messages.filter(
      (m) =>
        (m as { type?: string }).type === 'gap' || (m as { type?: string }).type === 'publication',
    ) as { type: string; epoch?: string; offset?: number; from?: number }[]
    const gapAt = pushes.findIndex((m) => m.type === 'gap')
    assert.ok(gapAt >= 0, 'a gap push tells the subscriber')
    assert.equal(pushes[gapAt]!.epoch, next.epoch, 'the gap names the new epoch')
    const after = pushes[gapAt + 1]
    assert.deepEqual(
      [after?.type, after?.offset],
      ['publication', 1],
      'the new stream follows the gap',
    )
  } finally {
    await hub.close()
  }
})
