import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import fc from 'fast-check'
import { type BrokerHandler, MemoryBroker } from '../broker/index.ts'
import type { GapPush, PublicationPush, ServerMessage } from '../protocol/index.ts'
import { Hub } from './hub.ts'
import type { SlowConsumerPolicy } from './namespace.ts'
import { MemoryTransport } from './test-utils/memory-transport.ts'
import { TestClient, turn } from './test-utils/test-client.ts'
import { type Frame, sseFormat, type WireFormat, wsJsonFormat } from './transport.ts'

/** A recording transport that, like SSE, asks for shared per-turn batches. */
class SharingTransport extends MemoryTransport {
  readonly sharedBatches = true
  /** The frames arrays it was handed, by identity. */
  readonly batches: (readonly Frame[])[] = []

  override write(frames: readonly Frame[]): boolean {
    this.batches.push(frames)
    return super.write(frames)
  }
}

/** A broker that can lose the next live delivery, as a cluster's transport may. */
class LossyBroker extends MemoryBroker {
  loseNext = false

  override start(handler: BrokerHandler): Promise<void> {
    return super.start({
      ...handler,
      onPublication: (channel, publication, epoch) => {
        if (this.loseNext) this.loseNext = false
        else handler.onPublication(channel, publication, epoch)
      },
    })
  }
}

/** A connected client whose transport shares batches. */
function sharingClient(hub: Hub, format: WireFormat): Promise<TestClient> {
  return TestClient.connect(hub, undefined, undefined, new SharingTransport(format))
}

async function pair(hub: Hub, channels: readonly string[]) {
  const sharing = await sharingClient(hub, sseFormat)
  const queuing = await TestClient.connect(hub, undefined, sseFormat)
  for (const c of [sharing, queuing]) {
    for (const channel of channels) {
      assert.equal((await c.request({ type: 'subscribe', channel })).error, undefined)
    }
  }
  await turn()
  return { sharing, queuing }
}

/** What a client saw after its connect reply, with the per-session client id blanked. */
function seen(c: TestClient): ServerMessage[] {
  return c.transport.messages
    .slice(1)
    .map((m) => JSON.parse(JSON.stringify(m).replace(/"client":"[^"]*"/g, '"client":""')))
}

test('sessions that share batches are handed one frames array per turn, holding what a queuing session gets', async () => {
  const hub = new Hub({ namespaces: { m: { historySize: 100 } } })
  try {
    const { sharing, queuing } = await pair(hub, ['m:a'])
    const other = await sharingClient(hub, sseFormat)
    await other.request({ type: 'subscribe', channel: 'm:a' })
    await turn()
    const before = (sharing.transport as SharingTransport).batches.length
    for (let i = 0; i < 5; i++) await hub.publish('m:a', { i })
    await turn()
    const a = (sharing.transport as SharingTransport).batches.slice(before)
    const b = (other.transport as SharingTransport).batches.slice(-1)
    assert.equal(a.length, 1, 'one write for the turn')
    assert.equal(a[0], b[0], 'the very same array for both sessions')
    assert.equal(a[0]!.length, 5)
    assert.deepEqual(
      sharing.pushes<PublicationPush>('publication').map((p) => p.data),
      [0, 1, 2, 3, 4].map((i) => ({ i })),
    )
    assert.deepEqual(seen(sharing), seen(queuing))
  } finally {
    await hub.close()
  }
})

test('subscribers of one channel in different wire formats, interleaved, each share one array per format', async () => {
  const hub = new Hub({ namespaces: { m: { historySize: 100 } } })
  try {
    const clients: TestClient[] = []
    for (const format of [sseFormat, wsJsonFormat, sseFormat, wsJsonFormat]) {
      const c = await sharingClient(hub, format)
      await c.request({ type: 'subscribe', channel: 'm:a' })
      clients.push(c)
    }
    await turn()
    const before = clients.map((c) => (c.transport as SharingTransport).batches.length)
    for (let i = 0; i < 3; i++) await hub.publish('m:a', { i })
    await turn()
    const batches = clients.map((c, i) =>
      (c.transport as SharingTransport).batches.slice(before[i]),
    )
    for (const b of batches) assert.equal(b.length, 1)
    assert.equal(batches[0]![0], batches[2]![0], 'the SSE sessions share one array')
    assert.equal(batches[1]![0], batches[3]![0], 'the WebSocket sessions share one array')
    assert.notEqual(batches[0]![0], batches[1]![0])
    for (const c of clients) {
      assert.deepEqual(
        c.pushes<PublicationPush>('publication').map((p) => p.data),
        [0, 1, 2].map((i) => ({ i })),
      )
    }
  } finally {
    await hub.close()
  }
})

test('the hub counts one delivery per subscriber per publication, riders included', async () => {
  const hub = new Hub({ namespaces: { m: { historySize: 100 } } })
  try {
    const clients = [
      await sharingClient(hub, sseFormat),
      await sharingClient(hub, sseFormat),
      await sharingClient(hub, wsJsonFormat),
      await TestClient.connect(hub),
    ]
    for (const c of clients) await c.request({ type: 'subscribe', channel: 'm:a' })
    await turn()
    const before = hub.stats.delivered
    for (let i = 0; i < 5; i++) await hub.publish('m:a', i)
    await turn()
    for (let i = 5; i < 8; i++) await hub.publish('m:a', i)
    await turn()
    const received = clients.reduce((n, c) => n + c.pushes('publication').length, 0)
    assert.equal(received, 4 * 8)
    assert.equal(hub.stats.delivered - before, received)
  } finally {
    await hub.close()
  }
})

test('a session subscribed while its channel is mid-turn gets the rest of that turn, without a gap', async () => {
  const hub = new Hub({ namespaces: { m: { historySize: 100 } } })
  try {
    const rider = await sharingClient(hub, sseFormat)
    await rider.request({ type: 'subscribe', channel: 'm:a' })
    const late = await sharingClient(hub, sseFormat)
    await turn()
    await hub.publish('m:a', 1)
    // Still the same event-loop turn: the server-side subscribe finishes in microtasks.
    await hub.subscribe(late.session, 'm:a')
    await hub.publish('m:a', 2)
    await hub.publish('m:a', 3)
    await turn()
    assert.deepEqual(
      late.pushes<PublicationPush>('publication').map((p) => p.data),
      [2, 3],
    )
    assert.deepEqual(late.pushes<GapPush>('gap'), [])
    assert.deepEqual(
      rider.pushes<PublicationPush>('publication').map((p) => p.data),
      [1, 2, 3],
    )
  } finally {
    await hub.close()
  }
})

type Op =
  | { kind: 'publish'; channel: 'm:a' | 'm:b'; size: number; key: string | undefined }
  | { kind: 'burst'; channel: 'm:a' | 'm:b' }
  | { kind: 'lose' }
  | { kind: 'reset'; channel: 'm:a' | 'm:b' }
  | { kind: 'turn' }
  | { kind: 'block' }
  | { kind: 'drain' }
  | { kind: 'ping' }
  | { kind: 'subscribe' | 'unsubscribe'; channel: 'm:a' | 'm:b' }

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('publish' as const),
      channel: fc.constantFrom('m:a' as const, 'm:b' as const),
      size: fc.integer({ min: 1, max: 700 }),
      key: fc.constantFrom(undefined, 'k1', 'k2'),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'turn' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('burst' as const),
      channel: fc.constantFrom('m:a' as const, 'm:b' as const),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'lose' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('reset' as const),
      channel: fc.constantFrom('m:a' as const, 'm:b' as const),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'block' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'drain' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'ping' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('subscribe' as const, 'unsubscribe' as const),
      channel: fc.constantFrom('m:a' as const, 'm:b' as const),
    }),
  },
)

test('whatever the publications, turns, bursts, lost deliveries, epoch changes, backpressure, replies and (un)subscribes, a session sharing batches sees exactly what a queuing session sees', async () => {
  await sharingMatchesQueuing(0, 150)
})

test('with a writeDelay, whose window spans several event-loop turns, a session sharing batches still sees exactly what a queuing session sees', async () => {
  await sharingMatchesQueuing(5, 60)
})

/** The property above, on a hub with `writeDelay` (0: the end of each event-loop turn). */
async function sharingMatchesQueuing(writeDelay: number, numRuns: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom<SlowConsumerPolicy>('drop-oldest', 'conflate', 'disconnect'),
      fc.boolean(),
      fc.array(op, { minLength: 1, maxLength: 60 }),
      async (policy, both, ops) => {
        const broker = new LossyBroker()
        const hub = new Hub({
          broker,
          writeDelay,
          maxOutboxBytes: 3000,
          namespaces: { m: { historySize: 1000, slowConsumer: policy } },
        })
        try {
          // A third subscriber keeps both channels alive, so the pair may leave a channel and
          // subscribe to it again while a turn of it is under way.
          const anchor = await TestClient.connect(hub)
          for (const channel of ['m:a', 'm:b']) await anchor.request({ type: 'subscribe', channel })
          const { sharing, queuing } = await pair(hub, both ? ['m:a', 'm:b'] : ['m:a'])
          let seq = 0
          for (const o of ops) {
            if (o.kind === 'publish') {
              const data = `${seq++}:${'x'.repeat(o.size)}`
              await hub.publish(o.channel, data, o.key === undefined ? {} : { key: o.key })
            } else if (o.kind === 'burst') {
              // More than the outbox limit in one turn.
              for (let i = 0; i < 6; i++)
                await hub.publish(o.channel, `${seq++}:${'y'.repeat(600)}`)
            } else if (o.kind === 'lose') broker.loseNext = true
            else if (o.kind === 'reset') await broker.removeHistory(o.channel)
            else if (o.kind === 'turn') await turn(1)
            else if (o.kind === 'ping') for (const c of [sharing, queuing]) c.send({ type: 'ping' })
            else if (o.kind === 'subscribe' || o.kind === 'unsubscribe') {
              for (const c of [sharing, queuing]) c.send({ type: o.kind, channel: o.channel })
            } else {
              for (const c of [sharing, queuing]) {
                c.transport.accept = o.kind === 'drain'
                if (o.kind === 'drain') c.session.drain()
              }
            }
          }
          for (const c of [sharing, queuing]) {
            c.transport.accept = true
            c.session.drain()
          }
          await turn()
          if (writeDelay > 0) await sleep(writeDelay * 4)
          assert.deepEqual(seen(sharing), seen(queuing))
        } finally {
          await hub.close()
        }
      },
    ),
    { numRuns },
  )
}
