// Control messages and presence across two Switchboard nodes sharing one real redis-server through
// RedisBroker: the target is a client (the SDK) connected to node A, the action is taken on node
// B, and only the broker can carry it across.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { EventSource } from 'eventsource'
import { WebSocket } from 'ws'
import { RedisBroker } from '../../src/broker/redis/index.ts'
import {
  type EventSourceConstructor,
  type FetchLike,
  type StateEvent,
  type SubscriptionStateEvent,
  SwitchboardClient,
  type WebSocketConstructor,
} from '../../src/client/index.ts'
import type { ClientOptions } from '../../src/client/options.ts'
import { Switchboard, SwitchboardError } from '../../src/index.ts'
import type { ClientInfo } from '../../src/protocol/index.ts'
import { DisconnectCode } from '../../src/protocol/index.ts'
import { until } from '../../src/test-utils/wait.ts'
import { RedisServer, redisSkipReason } from '../support/redis.ts'

const skip = redisSkipReason()
const TICKET_SECRET = 'cluster-ticket-secret-0123456789'
/** Lifetime of the short-lived tokens of the SSE refresh test. */
const LIFETIME = 2000

interface Node {
  app: Switchboard
  /** `http://127.0.0.1:<port>/switchboard` */
  url: string
}

/** A token is `user` (never expires) or `user@expiresAt` (ms). */
function auth({ token }: { token?: string }): { user: string; expiresAt?: number } {
  const [user, until] = (token ?? '').split('@')
  if (!user) throw new SwitchboardError('SWB_ERR_AUTH_UNAUTHORIZED')
  return until === undefined ? { user } : { user, expiresAt: Number(until) }
}

async function startNode(redisUrl: string, prefix: string, ticketSecret?: string): Promise<Node> {
  const app = new Switchboard({ logger: false })
  app.channels.configure({
    broker: new RedisBroker({ url: redisUrl, prefix }),
    auth,
    sweepInterval: 100,
    ...(ticketSecret === undefined ? null : { ticketSecret }),
  })
  app.channels.namespace('feed', { historySize: 10 })
  app.channels.namespace('room', { presence: true, joinLeave: true })
  const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, url: `http://127.0.0.1:${port}/switchboard` }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

describe('control messages and presence across two nodes on one redis-server', { skip }, () => {
  let redis: RedisServer | undefined
  const nodes: Node[] = []
  const clients: SwitchboardClient[] = []
  let a: Node
  let b: Node

  function client(node: Node, options: Partial<ClientOptions> = {}): SwitchboardClient {
    const c = new SwitchboardClient({
      url: node.url,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      EventSource: EventSource as unknown as EventSourceConstructor,
      transport: 'websocket',
      minReconnectDelay: 20,
      maxReconnectDelay: 100,
      visibility: null,
      ...options,
    })
    clients.push(c)
    return c
  }

  before(async () => {
    redis = await RedisServer.start()
    const prefix = `ctl${process.pid}`
    a = await startNode(redis.url, prefix, TICKET_SECRET)
    nodes.push(a)
    b = await startNode(redis.url, prefix, TICKET_SECRET)
    nodes.push(b)
  })

  after(async () => {
    for (const c of clients) c.disconnect()
    await Promise.allSettled(nodes.map((n) => n.app.close({ graceful: 0 })))
    await redis?.stop()
  })

  test('sendToUser on node B pushes the message to the user connected to node A', async () => {
    const c = client(a, { token: 'ann' })
    const got: unknown[] = []
    c.on('message', (m) => got.push(m))
    c.connect()
    await until(() => c.state === 'connected', 'ann connected to A')
    assert.equal(a.app.hub.sessionsOf('ann').length, 1)
    assert.equal(b.app.hub.sessionsOf('ann').length, 0)
    await b.app.hub.sendToUser('ann', { notice: 'export ready' })
    await until(() => got.length === 1, 'the message push on A')
    await sleep(100)
    assert.deepEqual(got, [{ notice: 'export ready' }])
  })

  test('disconnect(user) on node B closes the session on node A with the given code and reason', async () => {
    const c = client(a, { token: 'bob' })
    const states: StateEvent[] = []
    c.on('state', (e) => states.push(e))
    c.connect()
    await until(() => c.state === 'connected', 'bob connected to A')
    await b.app.hub.disconnect('bob', DisconnectCode.FORCE_NO_RECONNECT, 'banned')
    await until(() => c.state === 'disconnected', 'bob disconnected')
    // 3502 is a stop code: disconnected for good, no reconnect attempt after it.
    assert.deepEqual(
      states.map((e) => e.state),
      ['connecting', 'connected', 'disconnected'],
    )
    assert.equal(states.at(-1)?.code, DisconnectCode.FORCE_NO_RECONNECT)
    assert.equal(states.at(-1)?.reason, 'banned')
    await until(() => a.app.hub.sessionsOf('bob').length === 0, 'the session gone from A')
  })

  test('subscribe and unsubscribe on node B reach the session on node A, with their pushes', async () => {
    const c = client(a, { token: 'cat' })
    const subscribed: string[] = []
    const server: unknown[] = []
    c.on('subscribed', (channel) => subscribed.push(channel))
    c.on('publication', (p) => server.push(p.data))
    const own: unknown[] = []
    const ownStates: SubscriptionStateEvent[] = []
    const mine = c.subscribe('feed:own', {
      onPublication: (p) => own.push(p.data),
      onState: (e) => ownStates.push(e),
    })
    c.connect()
    await until(() => mine.state === 'subscribed', 'cat subscribed to feed:own')

    // A server-side subscription made on B: a subscribe push on A, then its publications.
    await b.app.hub.subscribe('cat', 'feed:news')
    await until(() => subscribed.includes('feed:news'), 'the subscribe push on A')
    assert.equal(a.app.hub.subscriberCount('feed:news'), 1)
    await b.app.hub.publish('feed:news', 1)
    await until(() => server.length === 1, 'the publication of the server-side subscription')

    // Unsubscribed from B: the session on A leaves the channel and gets nothing more.
    await b.app.hub.unsubscribe('cat', 'feed:news')
    await until(() => a.app.hub.subscriberCount('feed:news') === 0, 'feed:news left on A')
    await b.app.hub.publish('feed:news', 2)

    // The client's own subscription, ended from B: the unsubscribe push (3504, no resubscribe).
    await b.app.hub.unsubscribe('cat', 'feed:own')
    await until(() => mine.state === 'unsubscribed', 'feed:own unsubscribed by the server')
    assert.equal(ownStates.at(-1)?.code, DisconnectCode.UNSUBSCRIBED)
    assert.equal(a.app.hub.subscriberCount('feed:own'), 0)
    await b.app.hub.publish('feed:own', 'after')
    await sleep(150)
    assert.deepEqual(server, [1])
    assert.deepEqual(own, [])
    assert.equal(mine.state, 'unsubscribed')
    assert.equal(c.state, 'connected')
  })

  test('a refresh POSTed to node B keeps the SSE session on node A alive over two token lifetimes', async () => {
    const posts: { url: string; type: string | undefined }[] = []
    const recording: FetchLike = (url, init) => {
      let type: string | undefined
      try {
        type = (JSON.parse(init.body ?? '{}') as { type?: string }).type
      } catch {}
      posts.push({ url, type })
      return fetch(url, init)
    }
    // Stream and tickets from A, commands (refresh included) POSTed to B.
    const c = client(a, {
      transport: 'sse',
      postUrl: b.url,
      ticketUrl: `${a.url}/ticket`,
      fetch: recording,
      token: () => `dan@${Date.now() + LIFETIME}`,
    })
    const states: StateEvent[] = []
    c.on('state', (e) => states.push(e))
    const got: unknown[] = []
    c.subscribe('feed:sse', { onPublication: (p) => got.push(p.data) })
    c.connect()
    await until(
      () => c.state === 'connected' && a.app.hub.sessionsOf('dan').length === 1,
      'dan streaming from A',
    )
    const session = a.app.hub.sessionsOf('dan')[0]!
    const firstExpiry = session.expiresAt
    assert.ok(firstExpiry > 0 && firstExpiry <= Date.now() + LIFETIME)
    assert.equal(b.app.hub.sessionsOf('dan').length, 0)
    await sleep(2 * LIFETIME + 300)
    assert.equal(session.isClosed, false, 'the session outlived its first credential')
    assert.ok(session.expiresAt > firstExpiry + LIFETIME, 'extended at least twice')
    assert.deepEqual(a.app.hub.sessionsOf('dan'), [session])
    assert.deepEqual(
      states.map((e) => e.state),
      ['connecting', 'connected'],
    )
    const refreshes = posts.filter((p) => p.type === 'refresh')
    assert.ok(refreshes.length >= 2, `${refreshes.length} refreshes`)
    for (const r of refreshes) assert.equal(r.url, b.url)
    await b.app.hub.publish('feed:sse', 'still streaming')
    await until(() => got.length === 1, 'a publication on the extended stream')
  })

  test('a stream ticket issued by node A opens an SSE stream on node B; a node with another secret refuses it', async () => {
    const res = await fetch(`${a.url}/ticket?channel=feed:ticket`, {
      method: 'POST',
      headers: { authorization: 'Bearer eve' },
    })
    assert.equal(res.status, 200)
    const { ticket } = (await res.json()) as { ticket: string }

    const abort = new AbortController()
    const stream = await fetch(
      `${b.url}?channel=feed:ticket&ticket=${encodeURIComponent(ticket)}`,
      {
        headers: { accept: 'text/event-stream' },
        signal: abort.signal,
      },
    )
    try {
      assert.equal(stream.status, 200)
      const reader = stream.body!.getReader()
      const decoder = new TextDecoder()
      let text = ''
      while (!text.includes('event: subscribe')) {
        const { value, done } = await reader.read()
        if (done) break
        text += decoder.decode(value, { stream: true })
      }
      const connected = /event: connected\ndata: (.*)\n/.exec(text)
      assert.ok(connected, text)
      assert.equal((JSON.parse(connected[1]!) as { user: string }).user, 'eve')
      assert.equal(b.app.hub.sessionsOf('eve').length, 1)
    } finally {
      abort.abort()
    }

    // Without the shared secret the same ticket is refused before the stream opens.
    const other = await startNode(redis!.url, `other${process.pid}`)
    nodes.push(other)
    const refused = await fetch(
      `${other.url}?channel=feed:ticket&ticket=${encodeURIComponent(ticket)}`,
      {
        headers: { accept: 'text/event-stream' },
      },
    )
    assert.equal(refused.status, 401)
    assert.equal(
      ((await refused.json()) as { error: { code: string } }).error.code,
      'SWB_ERR_AUTH_UNAUTHORIZED',
    )
    await until(() => b.app.hub.sessionsOf('eve').length === 0, 'the aborted stream closed on B')
  })

  test('a member joined on node A is listed by presence on node B with the same count', async () => {
    const c = client(a, { token: 'fay' })
    const sub = c.subscribe('room:lobby')
    c.connect()
    await until(() => sub.state === 'subscribed', 'fay subscribed on A')
    const [session] = a.app.hub.sessionsOf('fay')
    const onA = await a.app.hub.presence('room:lobby')
    const onB = await b.app.hub.presence('room:lobby')
    assert.deepEqual(onB, onA)
    assert.equal(onB.count, 1)
    assert.deepEqual(
      onB.members?.map((m) => [m.user, m.client]),
      [['fay', session!.id]],
    )
    assert.equal(await b.app.hub.presenceCount('room:lobby'), 1)
    // And through a client of node B.
    const viewer = client(b, { token: 'viewer' })
    viewer.connect()
    await until(() => viewer.state === 'connected', 'viewer connected to B')
    assert.equal((await viewer.presence('room:lobby')).count, 1)
  })

  test('a join on node A reaches a subscriber on node B as a join push, and its leave as a leave push', async () => {
    const watcher = client(b, { token: 'gus' })
    const joins: ClientInfo[] = []
    const leaves: ClientInfo[] = []
    const sub = watcher.subscribe('room:hall', {
      onJoin: (info) => joins.push(info),
      onLeave: (info) => leaves.push(info),
    })
    watcher.connect()
    await until(() => sub.state === 'subscribed', 'gus subscribed on B')

    const joiner = client(a, { token: 'hal' })
    const hall = joiner.subscribe('room:hall')
    joiner.connect()
    await until(() => hall.state === 'subscribed', 'hal subscribed on A')
    const hal = a.app.hub.sessionsOf('hal')[0]!.id
    await until(() => joins.some((j) => j.user === 'hal'), 'the join push on B')
    assert.deepEqual(
      joins.filter((j) => j.user === 'hal').map((j) => j.client),
      [hal],
    )

    joiner.disconnect()
    await until(() => leaves.some((l) => l.user === 'hal'), 'the leave push on B')
    await sleep(100)
    assert.deepEqual(
      leaves.map((l) => [l.user, l.client]),
      [['hal', hal]],
    )
    assert.equal((await b.app.hub.presence('room:hall')).count, 1)
  })
})
