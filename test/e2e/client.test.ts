// The client SDK against the real server: `new Switchboard()` with `app.channels`, listening on
// 127.0.0.1, at its one endpoint `/switchboard` (WebSocket upgrade, SSE on GET, commands on POST).
// A small TCP proxy in front of it plays the network: it can refuse WebSocket upgrades (a proxy
// that does not pass them) or cut a connection right after forwarding the client's next frame
// (the server applies a publish, its reply is lost).
import assert from 'node:assert/strict'
import { createServer, type Server, Socket } from 'node:net'
import { after, describe, test } from 'node:test'
import { EventSource } from 'eventsource'
import { WebSocket } from 'ws'
import {
  type EventSourceConstructor,
  type PublicationContext,
  type SubscribedContext,
  SwitchboardClient,
  type WebSocketConstructor,
} from '../../src/client/index.ts'
import type { ClientOptions } from '../../src/client/options.ts'
import { Switchboard } from '../../src/index.ts'
import { waitFor } from '../../src/test-utils/wait.ts'

async function startApp(port = 0): Promise<{ app: Switchboard; port: number }> {
  const app = new Switchboard({ logger: false })
  // The token is the user id: enough to address a user's sessions with hub.disconnect.
  app.channels.configure({ auth: ({ token }) => ({ user: token ?? '' }) })
  app.channels.namespace('chat', { historySize: 100, clientPublish: true })
  app.channels.namespace('tiny', { historySize: 3, clientPublish: true })
  const { port: bound } = await app.listen({ port, host: '127.0.0.1' })
  return { app, port: bound }
}

interface Proxy {
  port: number
  refuseUpgrade: boolean
  /** Cut the next connection that sends a chunk, after forwarding that chunk. */
  cutAfterNextClientChunk: boolean
  close(): Promise<void>
}

async function startProxy(target: number): Promise<Proxy> {
  const sockets = new Set<Socket>()
  const proxy: Proxy = {
    port: 0,
    refuseUpgrade: false,
    cutAfterNextClientChunk: false,
    close: () => {
      for (const s of sockets) s.destroy()
      return new Promise((r) => server.close(() => r()))
    },
  }
  const server: Server = createServer((client) => {
    sockets.add(client)
    const upstream = new Socket()
    sockets.add(upstream)
    let first = true
    let upgraded = false
    let blackhole = false
    upstream.connect(target, '127.0.0.1')
    client.on('data', (chunk: Buffer) => {
      if (first) {
        first = false
        upgraded = /\r\nupgrade:\s*websocket/i.test(chunk.toString('latin1'))
        if (upgraded && proxy.refuseUpgrade) {
          client.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
          upstream.destroy()
          return
        }
      } else if (upgraded && proxy.cutAfterNextClientChunk) {
        proxy.cutAfterNextClientChunk = false
        blackhole = true
        upstream.write(chunk)
        setTimeout(() => {
          client.destroy()
          upstream.destroy()
        }, 100)
        return
      }
      upstream.write(chunk)
    })
    upstream.on('data', (chunk: Buffer) => {
      if (!blackhole) client.write(chunk)
    })
    const end = (): void => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('close', end)
    upstream.on('close', end)
    client.on('error', end)
    upstream.on('error', end)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  proxy.port = (server.address() as { port: number }).port
  return proxy
}

const clients: SwitchboardClient[] = []
after(() => {
  for (const c of clients) c.disconnect()
})

function client(port: number, options: Partial<ClientOptions> = {}): SwitchboardClient {
  const c = new SwitchboardClient({
    url: `ws://127.0.0.1:${port}/switchboard`,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    EventSource: EventSource as unknown as EventSourceConstructor,
    token: 'u1',
    minReconnectDelay: 20,
    maxReconnectDelay: 100,
    visibility: null,
    ...options,
  })
  clients.push(c)
  return c
}

describe('client SDK against a real Switchboard server', () => {
  test('reconnects after a server restart and reports recovered: false for the new epoch', async () => {
    const first = await startApp()
    // Attempts 150 ms apart give the new server time to listen; were two of them refused in a
    // row anyway (a loaded machine), the client would take the SSE fallback and the probe
    // brings it back to WebSocket.
    const c = client(first.port, {
      minReconnectDelay: 150,
      maxReconnectDelay: 150,
      random: () => 0.999,
      upgradeProbeDelay: 100,
    })
    const subscribed: SubscribedContext[] = []
    const codes: number[] = []
    c.on('state', (e) => codes.push(e.code))
    c.subscribe('chat:restart', { onSubscribed: (s) => subscribed.push(s) })
    c.connect()
    await waitFor(() => subscribed.length === 1)
    await first.app.hub.publish('chat:restart', 'before')
    await first.app.close({ graceful: 0 })
    await waitFor(() => c.state === 'connecting')
    const second = await startApp(first.port)
    try {
      await waitFor(() => subscribed.length >= 2, 5000, 'resubscribe after restart')
      await waitFor(
        () => c.transport === 'websocket' && c.state === 'connected',
        5000,
        'on WebSocket',
      )
      // The server's close reaches the client as the hub's 3000 (shutdown) or, when the
      // WebSocket layer closes first, as 1001 (going away); both mean "reconnect".
      assert.ok(
        codes.includes(3000) || codes.includes(1001),
        `state codes ${codes.join(',')} lack a shutdown code`,
      )
      assert.equal(subscribed[1]?.recovered, false)
      assert.notEqual(subscribed[1]?.epoch, subscribed[0]?.epoch)
    } finally {
      c.disconnect()
      await second.app.close({ graceful: 0 })
    }
  })

  test('recovers N publications missed during a forced disconnect: all, in order, no duplicates', async () => {
    const { app, port } = await startApp()
    const c = client(port, { minReconnectDelay: 300, maxReconnectDelay: 300, random: () => 0.5 })
    const got: PublicationContext[] = []
    const subscribed: SubscribedContext[] = []
    c.subscribe('chat:r', {
      onPublication: (p) => got.push(p),
      onSubscribed: (s) => subscribed.push(s),
    })
    c.connect()
    try {
      await waitFor(() => subscribed.length === 1)
      for (let i = 0; i < 5; i++) await app.hub.publish('chat:r', i)
      await waitFor(() => got.length === 5)
      await app.hub.disconnect('u1', 3003, 'test')
      await waitFor(() => c.state === 'connecting')
      const N = 50
      for (let i = 5; i < 5 + N; i++) await app.hub.publish('chat:r', i)
      await waitFor(() => subscribed.length === 2)
      await waitFor(() => got.length >= 5 + N)
      await new Promise((r) => setTimeout(r, 20)) // nothing more (no duplicates) arrives
      assert.equal(subscribed[1]?.recovered, true)
      assert.deepEqual(
        got.map((p) => p.data),
        Array.from({ length: 5 + N }, (_, i) => i),
      )
      assert.equal(got.filter((p) => p.recovered).length, N)
    } finally {
      c.disconnect()
      await app.close({ graceful: 0 })
    }
  })

  test('reports recovered: false when the missed publications left the history window', async () => {
    const { app, port } = await startApp()
    const c = client(port, { minReconnectDelay: 300, maxReconnectDelay: 300, random: () => 0.5 })
    const subscribed: SubscribedContext[] = []
    const gaps: unknown[] = []
    c.subscribe('tiny:x', { onSubscribed: (s) => subscribed.push(s), onGap: (g) => gaps.push(g) })
    c.connect()
    try {
      await waitFor(() => subscribed.length === 1)
      await app.hub.disconnect('u1', 3003, 'test')
      await waitFor(() => c.state === 'connecting')
      for (let i = 0; i < 10; i++) await app.hub.publish('tiny:x', i)
      await waitFor(() => subscribed.length === 2)
      assert.equal(subscribed[1]?.recovered, false)
      assert.equal(gaps.length, 1)
    } finally {
      c.disconnect()
      await app.close({ graceful: 0 })
    }
  })

  test('falls back to SSE + POST when the upgrade is refused, then receives, publishes and resumes', async () => {
    const { app, port } = await startApp()
    const proxy = await startProxy(port)
    proxy.refuseUpgrade = true
    const c = client(proxy.port, {
      minReconnectDelay: 300,
      maxReconnectDelay: 300,
      random: () => 0.5,
    })
    const reasons: string[] = []
    c.on('fallback', (e) => reasons.push(e.reason))
    const got: unknown[] = []
    const subscribed: SubscribedContext[] = []
    c.subscribe('chat:s', {
      onPublication: (p) => got.push(p.data),
      onSubscribed: (s) => subscribed.push(s),
    })
    c.connect()
    try {
      await waitFor(() => subscribed.length === 1)
      assert.equal(c.transport, 'sse')
      assert.deepEqual(reasons, ['websocket-failed'])
      await app.hub.publish('chat:s', 'pushed')
      const r = await c.publish('chat:s', 'posted')
      assert.equal(r.offset, 2)
      await waitFor(() => got.length === 2)
      await app.hub.disconnect('u1', 3003, 'test')
      await waitFor(() => c.state === 'connecting')
      for (let i = 0; i < 5; i++) await app.hub.publish('chat:s', i)
      await waitFor(() => got.length === 7)
      assert.deepEqual(got, ['pushed', 'posted', 0, 1, 2, 3, 4])
      assert.equal(subscribed.at(-1)?.recovered, true)
    } finally {
      c.disconnect()
      await proxy.close()
      await app.close({ graceful: 0 })
    }
  })

  test('the outbox replays a publish whose reply was lost, and the server applies it once', async () => {
    const { app, port } = await startApp()
    const proxy = await startProxy(port)
    const c = client(proxy.port)
    c.connect()
    try {
      await waitFor(() => c.state === 'connected')
      proxy.cutAfterNextClientChunk = true
      const r = await c.publish('chat:once', { n: 1 })
      assert.equal(r.duplicate, true)
      assert.equal((await app.hub.history('chat:once')).publications.length, 1)
      c.disconnect()
      const queued = [c.publish('chat:once', { n: 2 }), c.publish('chat:once', { n: 3 })]
      c.connect()
      const results = await Promise.all(queued)
      assert.deepEqual(
        results.map((x) => [x.offset, x.duplicate]),
        [
          [2, undefined],
          [3, undefined],
        ],
      )
      const history = await app.hub.history('chat:once')
      assert.deepEqual(
        history.publications.map((p) => p.data),
        [{ n: 1 }, { n: 2 }, { n: 3 }],
      )
    } finally {
      c.disconnect()
      await proxy.close()
      await app.close({ graceful: 0 })
    }
  })
})
