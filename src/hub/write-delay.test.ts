import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { PublicationPush, ServerMessage } from '../protocol/index.ts'
import { Hub } from './hub.ts'
import { MemoryTransport } from './test-utils/memory-transport.ts'
import { TestClient, turn } from './test-utils/test-client.ts'
import { type Frame, sseFormat, type WireFormat } from './transport.ts'

// Long enough that a few event-loop turns always fit inside it, even on a loaded machine.
const DELAY = 300

/** A recording transport that, like SSE and WebSocket connections, takes shared batches. */
class SharingTransport extends MemoryTransport {
  readonly sharedBatches = true
  override write(frames: readonly Frame[]): boolean {
    return super.write(frames)
  }
}

async function subscriber(hub: Hub, transport?: MemoryTransport): Promise<TestClient> {
  const c = await TestClient.connect(hub, undefined, undefined, transport)
  assert.equal((await c.request({ type: 'subscribe', channel: 'm:a' })).error, undefined)
  return c
}

function offsets(c: TestClient): number[] {
  return c.pushes<PublicationPush>('publication').map((p) => p.offset)
}

/** Publishes `n` publications to m:a, each in its own event-loop turn. */
async function publishAcrossTurns(hub: Hub, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await hub.publish('m:a', { i })
    await turn(1)
  }
}

test('with a writeDelay, publications made in several event-loop turns inside it reach a session in one write', async () => {
  const hub = new Hub({ writeDelay: DELAY, namespaces: { m: { historySize: 100 } } })
  try {
    const queuing = await subscriber(hub)
    const sharing = await subscriber(hub, new SharingTransport())
    const before = [queuing.transport.writes, sharing.transport.writes]
    const started = performance.now()
    await publishAcrossTurns(hub, 3)
    const inside = performance.now() - started < DELAY / 2
    assert.ok(inside, 'the publications were made well inside the delay')
    assert.deepEqual(
      [queuing.transport.writes, sharing.transport.writes],
      before,
      'nothing is written before the delay ends',
    )
    await sleep(DELAY + 100)
    assert.deepEqual(
      [queuing.transport.writes, sharing.transport.writes],
      [before[0]! + 1, before[1]! + 1],
      'one write each when it ends',
    )
    assert.deepEqual(offsets(queuing), [1, 2, 3])
    assert.deepEqual(offsets(sharing), [1, 2, 3])
  } finally {
    await hub.close()
  }
})

test('without a writeDelay the same publications take one write per event-loop turn', async () => {
  const hub = new Hub({ namespaces: { m: { historySize: 100 } } })
  try {
    const c = await subscriber(hub, new SharingTransport())
    const before = c.transport.writes
    await publishAcrossTurns(hub, 3)
    await turn()
    assert.equal(c.transport.writes, before + 3)
    assert.deepEqual(offsets(c), [1, 2, 3])
  } finally {
    await hub.close()
  }
})

/** What a client saw after its connect reply, with the per-session client id blanked. */
function seen(c: TestClient): ServerMessage[] {
  return c.transport.messages
    .slice(1)
    .map((m) => JSON.parse(JSON.stringify(m).replace(/"client":"[^"]*"/g, '"client":""')))
}

test('with a writeDelay, replies, bursts over the outbox limit and publications of several turns reach a sharing session and a queuing session alike, in order', async () => {
  const hub = new Hub({
    writeDelay: 50,
    maxOutboxBytes: 3000,
    namespaces: { m: { historySize: 1000, slowConsumer: 'drop-oldest' } },
  })
  try {
    const format: WireFormat = sseFormat
    const sharing = await TestClient.connect(
      hub,
      undefined,
      undefined,
      new SharingTransport(format),
    )
    const queuing = await TestClient.connect(hub, undefined, format)
    for (const c of [sharing, queuing]) await c.request({ type: 'subscribe', channel: 'm:a' })
    let seq = 0
    for (let round = 0; round < 3; round++) {
      // A publication, a reply and a burst larger than the outbox in one turn, then more
      // publications in the turns after it, all inside one window.
      await hub.publish('m:a', `${seq++}`)
      for (const c of [sharing, queuing]) c.send({ type: 'ping' })
      for (let i = 0; i < 6; i++) await hub.publish('m:a', `${seq++}:${'y'.repeat(600)}`)
      await turn(1)
      await hub.publish('m:a', `${seq++}`)
      await turn(1)
      await hub.publish('m:a', `${seq++}`)
      await sleep(120)
    }
    assert.deepEqual(seen(sharing), seen(queuing))
    const pubs = sharing.pushes<PublicationPush>('publication')
    const gaps = sharing.pushes('gap')
    assert.ok(pubs.length > 0 && gaps.length > 0, 'the bursts were cut by drop-oldest')
    for (let i = 1; i < pubs.length; i++) assert.ok(pubs[i]!.offset > pubs[i - 1]!.offset)
    assert.equal(pubs.at(-1)!.offset, seq, 'the last publication arrived')
  } finally {
    await hub.close()
  }
})

test('writeDelay is an integer number of milliseconds from 0 to 1000', () => {
  for (const bad of [-1, 1.5, 1001, Number.NaN, '5']) {
    assert.throws(
      () => new Hub({ writeDelay: bad as number }),
      (err: { code?: string }) => err.code === 'SWB_ERR_INVALID_OPTION',
      String(bad),
    )
  }
  for (const good of [0, 1, 1000]) void new Hub({ writeDelay: good }).close()
})

test('a session disconnected inside a write window is first written what it was queued, then the disconnect push', async () => {
  const hub = new Hub({ writeDelay: DELAY, namespaces: { m: { historySize: 100 } } })
  try {
    const queuing = await subscriber(hub)
    const sharing = await subscriber(hub, new SharingTransport())
    await publishAcrossTurns(hub, 2)
    await hub.disconnect(queuing.session, 3003, 'maintenance')
    await hub.disconnect(sharing.session, 3003, 'maintenance')
    for (const c of [queuing, sharing]) {
      assert.deepEqual(offsets(c), [1, 2], 'the queued publications were not dropped')
      const types = c.transport.messages.map((m) => (m as { type?: string }).type)
      assert.equal(types.at(-1), 'disconnect', 'the disconnect push comes last')
      assert.deepEqual(c.transport.closedWith, { code: 3003, reason: 'maintenance' })
    }
  } finally {
    await hub.close()
  }
})
