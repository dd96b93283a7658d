import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  type GapPush,
  type PublicationPush,
  readServerMessage,
  type ServerMessage,
} from '../protocol/index.ts'
import { Hub } from './hub.ts'
import type { SlowConsumerPolicy } from './namespace.ts'
import { turn } from './test-utils/test-client.ts'
import { wsJsonFormat } from './transport.ts'
import { type WsConnectionLike, WsTransport } from './ws-transport.ts'

const LIMIT = 4096

const typeOf = (m: ServerMessage): string | undefined => (m as { type?: string }).type

/**
 * A WebSocket connection whose peer never reads, as the ws layer reports it within one turn:
 * every send answers SENT (the socket's need-drain flag only changes when the layer flushes at
 * the end of the turn) while `bufferedAmount` counts every byte handed over.
 */
class NeverReadingWs implements WsConnectionLike {
  bufferedAmount = 0
  sends = 0
  readonly messages: ServerMessage[] = []
  closedWith: { code: number; reason: string } | null = null

  send(data: string | Uint8Array): number {
    this.sends++
    this.bufferedAmount += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength
    this.messages.push(readServerMessage(wsJsonFormat.codec.decode(data))!)
    return 0
  }

  close(code: number, reason: string): void {
    this.closedWith = { code, reason }
  }
}

async function subscriber(policy: SlowConsumerPolicy) {
  const hub = new Hub({
    maxOutboxBytes: LIMIT,
    namespaces: { s: { slowConsumer: policy, historySize: 1000 } },
  })
  const ws = new NeverReadingWs()
  const session = hub.connect(new WsTransport(ws, wsJsonFormat))
  session.receive('{"id":1,"type":"connect"}')
  session.receive('{"id":2,"type":"subscribe","channel":"s:feed"}')
  await turn()
  assert.ok(ws.messages.some((m) => (m as { id?: number }).id === 2))
  return { hub, ws, session }
}

// Every publication reaches a connection through the session's end-of-turn write. (A "direct
// path" that handed single frames to a connection reporting `bufferedAmount` during publish was
// removed: instrumented, no real WebSocket or SSE connection ever took it, since the ws layer's
// sessions follow the channel's turn instead; see docs/channels.md.)

test('a publication to an idle WebSocket session waits for the end-of-turn write, even when the connection reports its buffered bytes', async () => {
  const { hub, ws, session } = await subscriber('drop-oldest')
  try {
    const before = ws.sends
    await hub.publish('s:feed', { i: 1 })
    assert.equal(ws.sends, before, 'nothing is written during publish')
    assert.equal(session.outbox.length, 1)
    assert.equal(session.dirty, true)
    await turn()
    assert.equal(ws.sends, before + 1, 'written by the end-of-turn flush')
    const pub = ws.messages.at(-1) as PublicationPush
    assert.equal(pub.type, 'publication')
    assert.equal(pub.offset, 1)
  } finally {
    await hub.close()
  }
})

test('a never-reading connection is held to the outbox byte limit and drop-oldest then applies with a gap marker', async () => {
  const { hub, ws, session } = await subscriber('drop-oldest')
  try {
    const start = ws.bufferedAmount
    // 500 publications of about 120 bytes in one turn, to a peer that reads nothing.
    for (let i = 1; i <= 500; i++) {
      await hub.publish('s:feed', { i, pad: 'x'.repeat(40) })
      assert.ok(ws.bufferedAmount - start <= LIMIT, `handed ${ws.bufferedAmount - start} bytes`)
      assert.ok(session.outbox.bytes <= LIMIT, `outbox at ${session.outbox.bytes} bytes`)
    }
    assert.ok(session.dropped > 0, 'the policy dropped publications once both were full')
    assert.equal(hub.stats.dropped, session.dropped)
    await turn()
    // Whatever reached the connection: in order, the lost range named by one gap marker.
    const pubs = ws.messages.filter((m) => typeOf(m) === 'publication') as PublicationPush[]
    const gaps = ws.messages.filter((m) => typeOf(m) === 'gap') as GapPush[]
    assert.equal(gaps.length, 1)
    const gap = gaps[0]!
    assert.equal(gap.count, session.dropped)
    const offsets = pubs.map((p) => p.offset)
    for (let i = 1; i < offsets.length; i++) assert.ok(offsets[i]! > offsets[i - 1]!)
    const lost = new Set<number>()
    for (let o = gap.from; o <= gap.to; o++) lost.add(o)
    for (const o of offsets) assert.equal(lost.has(o), false, `offset ${o} both sent and lost`)
    assert.equal(offsets.length + lost.size, 500, 'every offset either delivered or in the gap')
    const at = ws.messages.indexOf(gap)
    const firstAfter = ws.messages.slice(at + 1).find((m) => typeOf(m) === 'publication')
    assert.equal((firstAfter as PublicationPush).offset, gap.to + 1)
  } finally {
    await hub.close()
  }
})

test('a never-reading connection is held to the outbox byte limit and the disconnect policy closes with 3001', async () => {
  const { hub, ws, session } = await subscriber('disconnect')
  try {
    const start = ws.bufferedAmount
    for (let i = 1; i <= 500 && !session.isClosed; i++) {
      await hub.publish('s:feed', { i, pad: 'x'.repeat(40) })
      if (!session.isClosed) assert.ok(ws.bufferedAmount - start <= LIMIT)
    }
    assert.equal(session.isClosed, true)
    assert.deepEqual(ws.closedWith, { code: 3001, reason: 'slow consumer' })
    assert.equal(session.outbox.bytes, 0)
    assert.equal(hub.connectionCount, 0)
  } finally {
    await hub.close()
  }
})

test('a connection that cannot report its buffered bytes is written at the end of the turn too', async () => {
  const hub = new Hub({ namespaces: { s: {} } })
  try {
    const sent: (string | Uint8Array)[] = []
    const conn: WsConnectionLike = {
      send: (data) => {
        sent.push(data)
        return 0
      },
      close: () => {},
    }
    const session = hub.connect(new WsTransport(conn, wsJsonFormat))
    session.receive('{"id":1,"type":"connect"}')
    session.receive('{"id":2,"type":"subscribe","channel":"s:feed"}')
    await turn()
    const before = sent.length
    await hub.publish('s:feed', 1)
    assert.equal(sent.length, before, 'queued for the end-of-turn flush')
    assert.equal(session.outbox.length, 1)
    await turn()
    assert.equal(sent.length, before + 1)
  } finally {
    await hub.close()
  }
})
