// The client against the real channels hub (src/hub) served over node:http: WebSocket through
// the `ws` package and SSE + POST through plain handlers. The hub is not wired into the app yet,
// so this harness stands in for `app.channels`; test/e2e/client.test.ts will run the same
// scenarios against the real server once it is.
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { after, describe, test } from 'node:test'
import { EventSource } from 'eventsource'
import { WebSocket, WebSocketServer } from 'ws'
import type { ClientOptions } from '../../src/client/client.ts'
import {
  type EventSourceConstructor,
  type PublicationContext,
  type SubscribedContext,
  SwitchboardClient,
  type WebSocketConstructor,
} from '../../src/client/index.ts'
import {
  Hub,
  type Session,
  SseTransport,
  SUBPROTOCOLS,
  WsTransport,
  wireFormatFor,
} from '../../src/hub/index.ts'

interface Harness {
  hub: Hub
  server: Server
  url: string
  port: number
  /** Refuse WebSocket upgrades (as a proxy that does not pass them would). */
  refuseUpgrade: boolean
  /** Cut the connection instead of writing the reply to the next publish. */
  cutNextPublishReply: boolean
  sessions: Set<Session>
  /** Disconnects every live session with 3003 (reconnect allowed). */
  kick(): Promise<void>
  close(): Promise<void>
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => {
      body += c
    })
    req.on('end', () => resolve(body))
    req.on('error', reject)
  })
}

async function startHarness(port = 0, hub = makeHub()): Promise<Harness> {
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
  })
  const h: Harness = {
    hub,
    server: createServer(),
    url: '',
    port: 0,
    refuseUpgrade: false,
    cutNextPublishReply: false,
    sessions: new Set(),
    async kick() {
      for (const s of [...h.sessions]) await hub.disconnect(s, 3003, 'test')
    },
    async close() {
      await hub.close()
      for (const ws of wss.clients) ws.terminate()
      wss.close()
      h.server.closeAllConnections()
      await new Promise((r) => h.server.close(r))
    },
  }
  h.server.on('request', async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (url.pathname !== '/sb') return void res.writeHead(404).end()
    const bearer = req.headers.authorization?.replace(/^Bearer /, '')
    if (req.method === 'POST') {
      let body: unknown
      try {
        body = JSON.parse(await readBody(req))
      } catch {
        body = null
      }
      const r = await hub.httpCommand(body, { token: bearer })
      res.writeHead(r.status, { 'content-type': 'application/json' }).end(JSON.stringify(r.body))
      return
    }
    const header = req.headers['last-event-id']
    const lastEventId =
      (typeof header === 'string' ? header : undefined) ??
      url.searchParams.get('lastEventId') ??
      undefined
    const channels = url.searchParams.getAll('channel')
    try {
      const session = await hub.openStream(
        {
          channels,
          ...(lastEventId === undefined ? null : { lastEventId }),
          ...(bearer ? { token: bearer } : null),
        },
        () => {
          res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
          return new SseTransport(
            { write: (text) => res.write(text), close: () => res.end() },
            channels,
          )
        },
      )
      h.sessions.add(session)
      req.on('close', () => {
        h.sessions.delete(session)
        session.closed()
      })
    } catch (err) {
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({ error: { code: (err as { code?: string }).code, message: String(err) } }),
      )
    }
  })
  h.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (h.refuseUpgrade) {
      socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const format = wireFormatFor(ws.protocol)!
      let cutId = -1
      const session = hub.connect(
        new WsTransport(
          {
            send(data, isBinary) {
              if (
                cutId >= 0 &&
                !isBinary &&
                Buffer.from(data).toString().startsWith(`{"id":${cutId},`)
              ) {
                cutId = -1
                ws.terminate()
                return 2
              }
              ws.send(data, { binary: isBinary === true })
              return 0
            },
            close: (code, reason) => ws.close(code, reason),
          },
          format,
        ),
      )
      h.sessions.add(session)
      ws.on('message', (data, isBinary) => {
        const text = isBinary ? null : data.toString()
        if (h.cutNextPublishReply && text?.includes('"type":"publish"')) {
          h.cutNextPublishReply = false
          cutId = (JSON.parse(text) as { id: number }).id
        }
        session.receive(text ?? (data as Buffer))
      })
      ws.on('close', () => {
        h.sessions.delete(session)
        session.closed()
      })
    })
  })
  await new Promise<void>((r) => h.server.listen(port, '127.0.0.1', r))
  h.port = (h.server.address() as AddressInfo).port
  h.url = `ws://127.0.0.1:${h.port}/sb`
  return h
}

function makeHub(): Hub {
  return new Hub({
    namespaces: {
      chat: { historySize: 100, clientPublish: true },
      tiny: { historySize: 3, clientPublish: true },
    },
  })
}

const clients: SwitchboardClient[] = []
function client(h: Harness, options: Partial<ClientOptions> = {}): SwitchboardClient {
  const c = new SwitchboardClient({
    url: h.url,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    EventSource: EventSource as unknown as EventSourceConstructor,
    minReconnectDelay: 20,
    maxReconnectDelay: 100,
    visibility: null,
    ...options,
  })
  clients.push(c)
  return c
}
after(() => {
  for (const c of clients) c.disconnect()
})

async function waitFor(predicate: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 2))
  }
}

describe('client against the hub over WebSocket', () => {
  test('subscribes, receives, publishes and calls rpc', async () => {
    const h = await startHarness()
    h.hub.rpc(
      'add',
      (data) => (data as { a: number; b: number }).a + (data as { a: number; b: number }).b,
    )
    const c = client(h)
    const got: unknown[] = []
    const sub = c.subscribe('chat:a', { onPublication: (p) => got.push(p.data) })
    c.connect()
    await waitFor(() => sub.state === 'subscribed')
    assert.equal(c.transport, 'websocket')
    await h.hub.publish('chat:a', { text: 'from server' })
    const r = await c.publish('chat:a', { text: 'from client' })
    assert.equal(r.offset, 2)
    await waitFor(() => got.length === 2)
    assert.deepEqual(got, [{ text: 'from server' }, { text: 'from client' }])
    assert.equal(await c.rpc('add', { a: 2, b: 3 }), 5)
    c.disconnect()
    await h.close()
  })

  test('recovers N publications missed during a forced disconnect: all, in order, once', async () => {
    const h = await startHarness()
    const c = client(h, { minReconnectDelay: 300, maxReconnectDelay: 300, random: () => 0.5 })
    const got: PublicationContext[] = []
    const subscribed: SubscribedContext[] = []
    c.subscribe('chat:r', {
      onPublication: (p) => got.push(p),
      onSubscribed: (s) => subscribed.push(s),
    })
    c.connect()
    await waitFor(() => subscribed.length === 1)
    for (let i = 0; i < 5; i++) await h.hub.publish('chat:r', i)
    await waitFor(() => got.length === 5)
    await h.kick()
    await waitFor(() => c.state === 'connecting')
    const N = 40
    for (let i = 5; i < 5 + N; i++) await h.hub.publish('chat:r', i)
    await waitFor(() => subscribed.length === 2)
    await waitFor(() => got.length === 5 + N)
    assert.equal(subscribed[1]?.recovered, true)
    assert.deepEqual(
      got.map((p) => p.data),
      Array.from({ length: 5 + N }, (_, i) => i),
    )
    assert.deepEqual(
      got.map((p) => p.offset),
      Array.from({ length: 5 + N }, (_, i) => i + 1),
    )
    assert.equal(got.filter((p) => p.recovered).length, N)
    c.disconnect()
    await h.close()
  })

  test('reports recovered: false when more was missed than history keeps', async () => {
    const h = await startHarness()
    const c = client(h, { minReconnectDelay: 300, maxReconnectDelay: 300, random: () => 0.5 })
    const subscribed: SubscribedContext[] = []
    const gaps: unknown[] = []
    c.subscribe('tiny:x', { onSubscribed: (s) => subscribed.push(s), onGap: (g) => gaps.push(g) })
    c.connect()
    await waitFor(() => subscribed.length === 1)
    await h.kick()
    await waitFor(() => c.state === 'connecting')
    for (let i = 0; i < 10; i++) await h.hub.publish('tiny:x', i)
    await waitFor(() => subscribed.length === 2)
    assert.equal(subscribed[1]?.recovered, false)
    assert.equal(gaps.length, 1)
    c.disconnect()
    await h.close()
  })

  test('reconnects after a server restart and reports recovered: false for the new epoch', async () => {
    const h1 = await startHarness()
    const c = client(h1)
    const subscribed: SubscribedContext[] = []
    const codes: number[] = []
    c.on('state', (e) => codes.push(e.code))
    c.subscribe('chat:restart', { onSubscribed: (s) => subscribed.push(s) })
    c.connect()
    await waitFor(() => subscribed.length === 1)
    await h1.hub.publish('chat:restart', 'before')
    await h1.close()
    await waitFor(() => c.state === 'connecting')
    const h2 = await startHarness(h1.port)
    await waitFor(() => subscribed.length === 2, 5000, 'resubscribe after restart')
    assert.equal(c.state, 'connected')
    assert.equal(c.transport, 'websocket')
    assert.ok(codes.includes(3000), `state codes ${codes.join(',')} lack 3000 (shutdown)`)
    assert.equal(subscribed[1]?.recovered, false)
    assert.notEqual(subscribed[1]?.epoch, subscribed[0]?.epoch)
    c.disconnect()
    await h2.close()
  })

  test('the outbox replays a publish whose reply was lost, and the hub applies it once', async () => {
    const h = await startHarness()
    const c = client(h)
    c.connect()
    await waitFor(() => c.state === 'connected')
    h.cutNextPublishReply = true
    const r = await c.publish('chat:once', { n: 1 })
    assert.equal(r.duplicate, true)
    const history = await h.hub.history('chat:once')
    assert.equal(history.publications.length, 1)
    // queued while offline, then sent once
    c.disconnect()
    const p = c.publish('chat:once', { n: 2 })
    c.connect()
    const r2 = await p
    assert.equal(r2.duplicate, undefined)
    assert.equal((await h.hub.history('chat:once')).publications.length, 2)
    c.disconnect()
    await h.close()
  })
})

describe('client against the hub over SSE', () => {
  test('falls back to SSE + POST when the upgrade is refused, and still receives and publishes', async () => {
    const h = await startHarness()
    h.refuseUpgrade = true
    const c = client(h)
    const reasons: string[] = []
    c.on('fallback', (e) => reasons.push(e.reason))
    const got: unknown[] = []
    const sub = c.subscribe('chat:s', { onPublication: (p) => got.push(p.data) })
    c.connect()
    await waitFor(() => sub.state === 'subscribed')
    assert.equal(c.transport, 'sse')
    assert.deepEqual(reasons, ['websocket-failed'])
    await h.hub.publish('chat:s', 'pushed')
    const r = await c.publish('chat:s', 'posted')
    assert.equal(r.offset, 2)
    await waitFor(() => got.length === 2)
    assert.deepEqual(got, ['pushed', 'posted'])
    c.disconnect()
    await h.close()
  })

  test('an SSE stream forced closed resumes with every missed publication', async () => {
    const h = await startHarness()
    const c = client(h, {
      transport: 'sse',
      minReconnectDelay: 300,
      maxReconnectDelay: 300,
      random: () => 0.5,
    })
    const got: number[] = []
    const subscribed: SubscribedContext[] = []
    c.subscribe('chat:sr', {
      onPublication: (p) => got.push(p.data as number),
      onSubscribed: (s) => subscribed.push(s),
    })
    c.subscribe('chat:other')
    c.connect()
    await waitFor(() => subscribed.length === 1)
    await h.hub.publish('chat:sr', 0)
    await waitFor(() => got.length === 1)
    await h.kick()
    await waitFor(() => c.state === 'connecting')
    for (let i = 1; i <= 10; i++) await h.hub.publish('chat:sr', i)
    await waitFor(() => subscribed.length === 2)
    await waitFor(() => got.length === 11)
    assert.equal(subscribed[1]?.recovered, true)
    assert.deepEqual(
      got,
      Array.from({ length: 11 }, (_, i) => i),
    )
    c.disconnect()
    await h.close()
  })
})
