// In-band token refresh for SSE sessions: the stream's first push names its session, and a
// `refresh` POSTed to any node extends that session through a broker control message.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryBroker, MemoryCluster } from '../broker/index.ts'
import { SwitchboardError } from '../errors/index.ts'
import { Hub } from './hub.ts'
import type { Session } from './session.ts'
import { SseTransport } from './sse-transport.ts'
import { turn } from './test-utils/test-client.ts'

interface SseEvent {
  id?: string
  event: string
  data: Record<string, unknown>
}

/** A stream sink that keeps the raw text, and the events parsed out of it. */
class Sink {
  text = ''
  closed = false
  write(t: string): boolean {
    this.text += t
    return true
  }
  close(): void {
    this.closed = true
  }
  get events(): SseEvent[] {
    const out: SseEvent[] = []
    for (const block of this.text.split('\n\n')) {
      if (block === '') continue
      const e: Partial<SseEvent> = {}
      for (const line of block.split('\n')) {
        if (line.startsWith('id: ')) e.id = line.slice(4)
        else if (line.startsWith('event: ')) e.event = line.slice(7)
        else if (line.startsWith('data: ')) e.data = JSON.parse(line.slice(6))
      }
      out.push(e as SseEvent)
    }
    return out
  }
}

/** Two nodes on one cluster, with a clock the test moves and tokens of the form `user@until`. */
function nodes(clock: { now: number }): [Hub, Hub] {
  const cluster = new MemoryCluster()
  const options = {
    ticketSecret: 'shared-ticket-secret-0123456789',
    now: () => clock.now,
    auth: ({ token }: { token?: string }) => {
      const [user, until] = (token ?? '').split('@')
      if (!user || !until) throw new SwitchboardError('SWB_ERR_AUTH_UNAUTHORIZED')
      return { user, expiresAt: Number(until) }
    },
    namespaces: { chat: {} },
  }
  return [
    new Hub({ ...options, broker: new MemoryBroker({ cluster }) }),
    new Hub({ ...options, broker: new MemoryBroker({ cluster }) }),
  ]
}

async function openOn(hub: Hub, token: string): Promise<{ session: Session; sink: Sink }> {
  const sink = new Sink()
  const session = await hub.openStream(
    { channels: ['chat:r'], token },
    () => new SseTransport(sink, ['chat:r']),
  )
  await turn()
  return { session, sink }
}

test('an SSE stream starts with a connected push naming its session, without an id line', async () => {
  const clock = { now: 1_000_000 }
  const [a, b] = nodes(clock)
  try {
    const { session, sink } = await openOn(a, `ann@${clock.now + 30_500}`)
    const [first, second] = sink.events
    assert.deepEqual(first, {
      event: 'connected',
      data: { type: 'connected', client: session.id, user: 'ann', ttl: 30 },
    })
    assert.equal(second?.event, 'subscribe')
    assert.equal(typeof second?.id, 'string') // the channel push keeps its id line
  } finally {
    await a.close()
    await b.close()
  }
})

test('a refresh POSTed to the other node keeps an SSE session past its expiry', async () => {
  const clock = { now: 1_000_000 }
  const [a, b] = nodes(clock)
  try {
    const { session, sink } = await openOn(a, `ann@${clock.now + 30_000}`)
    clock.now += 20_000
    const res = await b.httpCommand(
      { id: 4, type: 'refresh', token: `ann@${clock.now + 60_000}`, client: session.id },
      { token: `ann@${clock.now - 1}` }, // the POST's own credential may have expired: unused
    )
    assert.deepEqual(res, { status: 200, body: { id: 4, result: { ttl: 60 } } })
    assert.equal(session.expiresAt, clock.now + 60_000)
    clock.now += 15_000 // past the first expiry
    a.sweep()
    b.sweep()
    assert.equal(session.isClosed, false)
    await b.publish('chat:r', 'still here')
    await turn()
    assert.equal(sink.events.at(-1)?.data.data, 'still here')
    clock.now += 60_000 // past the refreshed expiry
    a.sweep()
    await turn()
    assert.equal(session.isClosed, true)
    assert.deepEqual(sink.events.at(-1)?.data, {
      type: 'disconnect',
      code: 3002,
      reason: 'token expired',
      reconnect: true,
    })
  } finally {
    await a.close()
    await b.close()
  }
})

test('a refresh token for another user does not extend an SSE session: 3002 at expiry', async () => {
  const clock = { now: 1_000_000 }
  const [a, b] = nodes(clock)
  try {
    const { session, sink } = await openOn(a, `ann@${clock.now + 30_000}`)
    clock.now += 20_000
    const res = await b.httpCommand({
      id: 5,
      type: 'refresh',
      token: `eve@${clock.now + 60_000}`,
      client: session.id,
    })
    // Node b cannot know where the session is, so the answer is the same as for a good refresh.
    assert.equal(res.status, 200)
    assert.equal(session.expiresAt, 1_030_000)
    clock.now += 15_000
    a.sweep()
    await turn()
    assert.equal(session.isClosed, true)
    assert.equal(sink.closed, true)
    assert.equal(sink.events.at(-1)?.data.code, 3002)
  } finally {
    await a.close()
    await b.close()
  }
})

test('a refresh over HTTP is refused with a coded 400 without client, 401 with a bad token', async () => {
  const clock = { now: 1_000_000 }
  const [a, b] = nodes(clock)
  try {
    const { session } = await openOn(a, `ann@${clock.now + 30_000}`)
    const missing = await b.httpCommand({ id: 6, type: 'refresh', token: `ann@${clock.now + 1}` })
    assert.equal(missing.status, 400)
    assert.equal(missing.body.error?.code, 'SWB_ERR_PROTOCOL_BAD_COMMAND')
    const badType = await b.httpCommand({ id: 7, type: 'refresh', token: 't', client: 3 })
    assert.equal(badType.status, 400)
    assert.equal(badType.body.error?.code, 'SWB_ERR_PROTOCOL_BAD_COMMAND')
    const refused = await b.httpCommand({
      id: 8,
      type: 'refresh',
      token: 'no-expiry',
      client: session.id,
    })
    assert.equal(refused.status, 401)
    assert.equal(refused.body.error?.code, 'SWB_ERR_AUTH_UNAUTHORIZED')
    const expired = await b.httpCommand({
      id: 9,
      type: 'refresh',
      token: `ann@${clock.now - 1}`,
      client: session.id,
    })
    assert.equal(expired.body.error?.code, 'SWB_ERR_AUTH_TOKEN_EXPIRED')
    assert.equal(session.expiresAt, 1_030_000)
  } finally {
    await a.close()
    await b.close()
  }
})
