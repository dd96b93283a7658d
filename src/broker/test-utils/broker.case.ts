import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ClientInfo, Publication } from '../../protocol/index.ts'
import { isValidEpoch } from '../../protocol/index.ts'
import {
  type Broker,
  type BrokerHandler,
  type ControlMessage,
  isRecovered,
  type TracedPublication,
} from '../broker.ts'

/** What a conformance run records from the broker's live events. */
class Recorder implements BrokerHandler {
  pubs: { channel: string; pub: Publication; epoch: string }[] = []
  joins: { channel: string; info: ClientInfo }[] = []
  leaves: { channel: string; info: ClientInfo }[] = []
  control: ControlMessage[] = []
  onPublication(channel: string, pub: Publication, epoch: string): void {
    this.pubs.push({ channel, pub, epoch })
  }
  onJoin(channel: string, info: ClientInfo): void {
    this.joins.push({ channel, info })
  }
  onLeave(channel: string, info: ClientInfo): void {
    this.leaves.push({ channel, info })
  }
  onControl(message: ControlMessage): void {
    this.control.push(message)
  }
}

/** Options of a conformance run. */
export interface BrokerCaseOptions {
  /** Milliseconds live events may take to arrive (0 for synchronous brokers). */
  readonly deliveryDelay?: number
}

const history = { size: 100, ttl: 60_000 }

/**
 * Registers the broker conformance suite: every `Broker` implementation runs it with a factory
 * that returns a fresh, isolated broker (for Redis/NATS: a fresh key prefix / stream name).
 *
 * @example
 * runBrokerCases('memory', () => new MemoryBroker())
 */
export function runBrokerCases(
  name: string,
  factory: () => Broker | Promise<Broker>,
  options: BrokerCaseOptions = {},
): void {
  const settle = () => new Promise((r) => setTimeout(r, options.deliveryDelay ?? 0))

  async function open(): Promise<{ broker: Broker; rec: Recorder }> {
    const broker = await factory()
    const rec = new Recorder()
    await broker.start(rec)
    return { broker, rec }
  }

  test(`${name}: offsets start at 1 and grow by one per publication, per channel`, async () => {
    const { broker } = await open()
    try {
      const a1 = await broker.publish('a', 1, { history })
      const a2 = await broker.publish('a', 2, { history })
      const b1 = await broker.publish('b', 1, { history })
      assert.deepEqual([a1.offset, a2.offset, b1.offset], [1, 2, 1])
      assert.equal(a1.epoch, a2.epoch)
      assert.ok(isValidEpoch(a1.epoch), `epoch ${a1.epoch} fits the SSE id grammar`)
      assert.equal(a1.duplicate, false)
    } finally {
      await broker.close()
    }
  })

  test(`${name}: concurrent publishers get distinct dense offsets and history in offset order`, async () => {
    const { broker } = await open()
    try {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => broker.publish('race', i, { history })),
      )
      const offsets = results.map((r) => r.offset).sort((x, y) => x - y)
      assert.deepEqual(
        offsets,
        Array.from({ length: 50 }, (_, i) => i + 1),
      )
      const h = await broker.history('race')
      assert.equal(h.offset, 50)
      assert.deepEqual(
        h.publications.map((p) => p.offset),
        offsets,
      )
      for (const r of results) {
        const stored = h.publications.find((p) => p.offset === r.offset)
        assert.ok(stored, 'every acknowledged offset is in history')
      }
    } finally {
      await broker.close()
    }
  })

  test(`${name}: live delivery reaches subscribed nodes in offset order and stops after unsubscribe`, async () => {
    const { broker, rec } = await open()
    try {
      await broker.subscribe('live')
      for (let i = 0; i < 5; i++) await broker.publish('live', { i }, { history })
      await broker.publish('other', 'x', { history })
      await settle()
      assert.deepEqual(
        rec.pubs.map((p) => [p.channel, p.pub.offset, p.pub.data]),
        [0, 1, 2, 3, 4].map((i) => ['live', i + 1, { i }]),
      )
      await broker.unsubscribe('live')
      await broker.publish('live', 'late', { history })
      await settle()
      assert.equal(rec.pubs.length, 5)
    } finally {
      await broker.close()
    }
  })

  test(`${name}: a publish's trace context reaches onPublication, and never history or an untraced publication`, async () => {
    const { broker, rec } = await open()
    try {
      await broker.subscribe('traced')
      const trace = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }
      await broker.publish('traced', 1, { history, trace })
      await broker.publish('traced', 2, { history })
      await settle()
      const live = rec.pubs.map((p) => (p.pub as TracedPublication).trace)
      assert.deepEqual(live, [trace, undefined])
      const { publications } = await broker.history('traced', {
        since: { offset: 0, epoch: rec.pubs[0]!.epoch },
      })
      assert.equal(publications.length, 2)
      for (const p of publications) assert.equal('trace' in p, false)
    } finally {
      await broker.close()
    }
  })

  test(`${name}: history since a position returns exactly the publications after it`, async () => {
    const { broker } = await open()
    try {
      let epoch = ''
      for (let i = 1; i <= 10; i++) epoch = (await broker.publish('h', i, { history })).epoch
      const h = await broker.history('h', { since: { offset: 6, epoch } })
      assert.deepEqual(
        h.publications.map((p) => p.data),
        [7, 8, 9, 10],
      )
      assert.ok(isRecovered({ offset: 6, epoch }, h))
      const limited = await broker.history('h', { since: { offset: 6, epoch }, limit: 2 })
      assert.deepEqual(
        limited.publications.map((p) => p.offset),
        [7, 8],
      )
      assert.ok(!isRecovered({ offset: 6, epoch }, limited), 'a cut answer does not recover')
      const top = await broker.history('h', { limit: 0 })
      assert.deepEqual([top.offset, top.publications.length], [10, 0])
      const other = await broker.history('h', { since: { offset: 6, epoch: 'another-epoch' } })
      assert.equal(other.publications.length, 0)
      assert.ok(!isRecovered({ offset: 6, epoch: 'another-epoch' }, other))
    } finally {
      await broker.close()
    }
  })

  test(`${name}: history is bounded by size and recovery from before the window fails`, async () => {
    const { broker } = await open()
    try {
      let epoch = ''
      for (let i = 1; i <= 20; i++) {
        epoch = (await broker.publish('small', i, { history: { size: 5, ttl: 60_000 } })).epoch
      }
      const h = await broker.history('small')
      assert.deepEqual(
        h.publications.map((p) => p.offset),
        [16, 17, 18, 19, 20],
      )
      assert.ok(
        isRecovered(
          { offset: 15, epoch },
          await broker.history('small', { since: { offset: 15, epoch } }),
        ),
      )
      assert.ok(
        !isRecovered(
          { offset: 14, epoch },
          await broker.history('small', { since: { offset: 14, epoch } }),
        ),
      )
    } finally {
      await broker.close()
    }
  })

  test(`${name}: history expires after its TTL but offsets keep growing in the same epoch`, async () => {
    const { broker } = await open()
    try {
      const first = await broker.publish('ttl', 1, { history: { size: 10, ttl: 40 } })
      await new Promise((r) => setTimeout(r, 80))
      const h = await broker.history('ttl')
      assert.equal(h.publications.length, 0)
      assert.equal(h.offset, 1)
      const next = await broker.publish('ttl', 2, { history: { size: 10, ttl: 40 } })
      assert.deepEqual([next.offset, next.epoch], [2, first.epoch])
      assert.ok(
        !isRecovered(
          { offset: 0, epoch: first.epoch },
          await broker.history('ttl', { since: { offset: 0, epoch: first.epoch } }),
        ),
      )
    } finally {
      await broker.close()
    }
  })

  test(`${name}: a retried publish with the same idempotency key is applied once`, async () => {
    const { broker, rec } = await open()
    try {
      await broker.subscribe('idem')
      const a = await broker.publish('idem', 'x', { history, idempotencyKey: 'k1' })
      const b = await broker.publish('idem', 'x', { history, idempotencyKey: 'k1' })
      const c = await broker.publish('idem', 'y', { history, idempotencyKey: 'k2' })
      const d = await broker.publish('idem2', 'x', { history, idempotencyKey: 'k1' })
      await settle()
      assert.deepEqual([a.offset, a.duplicate], [1, false])
      assert.deepEqual([b.offset, b.epoch, b.duplicate], [1, a.epoch, true])
      assert.deepEqual([c.offset, d.offset, d.duplicate], [2, 1, false])
      assert.equal((await broker.history('idem')).publications.length, 2)
      assert.equal(rec.pubs.filter((p) => p.channel === 'idem').length, 2)
    } finally {
      await broker.close()
    }
  })

  test(`${name}: an idempotency key is forgotten after its window`, async () => {
    const { broker } = await open()
    try {
      await broker.publish('win', 'x', { history, idempotencyKey: 'k', idempotencyWindow: 30 })
      await new Promise((r) => setTimeout(r, 60))
      const again = await broker.publish('win', 'x', {
        history,
        idempotencyKey: 'k',
        idempotencyWindow: 30,
      })
      assert.deepEqual([again.offset, again.duplicate], [2, false])
    } finally {
      await broker.close()
    }
  })

  test(`${name}: presence adds, replaces, counts and removes members per channel`, async () => {
    const { broker } = await open()
    try {
      await broker.addPresence('p', { user: 'u1', client: 'c1' })
      await broker.addPresence('p', { user: 'u1', client: 'c1', info: { name: 'Ann' } })
      await broker.addPresence('p', { user: 'u2', client: 'c2' })
      await broker.addPresence('q', { user: 'u3', client: 'c3' })
      assert.equal(await broker.presenceCount('p'), 2)
      const members = (await broker.presence('p')).sort((x, y) => x.client.localeCompare(y.client))
      assert.deepEqual(members, [
        { user: 'u1', client: 'c1', info: { name: 'Ann' } },
        { user: 'u2', client: 'c2' },
      ])
      await broker.removePresence('p', 'c1')
      await broker.removePresence('p', 'nobody')
      assert.deepEqual(await broker.presence('p'), [{ user: 'u2', client: 'c2' }])
      assert.equal(await broker.presenceCount('q'), 1)
      assert.equal(await broker.presenceCount('none'), 0)
    } finally {
      await broker.close()
    }
  })

  test(`${name}: join, leave and control events reach subscribed nodes`, async () => {
    const { broker, rec } = await open()
    try {
      await broker.subscribe('room')
      await broker.publishJoin('room', { user: 'u', client: 'c' })
      await broker.publishLeave('room', { user: 'u', client: 'c' })
      await broker.publishJoin('elsewhere', { user: 'u', client: 'c' })
      await broker.publishControl({ type: 'user-message', user: 'u', data: 1 })
      const refresh: ControlMessage = {
        type: 'refresh',
        user: 'u',
        client: 'c',
        expiresAt: 1_700_000_000_000,
      }
      await broker.publishControl(refresh)
      await settle()
      assert.deepEqual(rec.joins, [{ channel: 'room', info: { user: 'u', client: 'c' } }])
      assert.deepEqual(rec.leaves, [{ channel: 'room', info: { user: 'u', client: 'c' } }])
      assert.deepEqual(rec.control, [{ type: 'user-message', user: 'u', data: 1 }, refresh])
    } finally {
      await broker.close()
    }
  })

  test(`${name}: removing history starts a new epoch`, async () => {
    const { broker } = await open()
    try {
      const a = await broker.publish('gone', 1, { history })
      await broker.removeHistory('gone')
      const b = await broker.publish('gone', 2, { history })
      assert.notEqual(a.epoch, b.epoch)
      assert.equal(b.offset, 1)
      assert.ok(!isRecovered(a, await broker.history('gone', { since: a })))
    } finally {
      await broker.close()
    }
  })
}
