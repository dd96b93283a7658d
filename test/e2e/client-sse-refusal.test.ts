// The client on SSE when the server refuses the stream before it starts (400/401/403/404 with a
// coded JSON body): the refusal reaches the application as a coded error instead of an endless
// reconnect loop. The real app listens on 127.0.0.1; a small HTTP proxy in front of it counts the
// stream requests (EventSource opens and the client's probes alike) and can answer 503 itself.
// The last case runs the bundle in headless Chromium, whose native EventSource is what hides the
// status in the first place.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, request, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { EventSource } from 'eventsource'
import {
  type ClientError,
  type EventSourceConstructor,
  type StateEvent,
  SwitchboardClient,
} from '../../src/client/index.ts'
import type { ClientOptions } from '../../src/client/options.ts'
import { Switchboard, SwitchboardError } from '../../src/index.ts'
import { until } from '../../src/test-utils/wait.ts'
import { CHROMIUM, CHROMIUM_ARGS, chromiumSkipReason } from '../support/chromium.ts'
import { browserClientBundle } from '../support/client-bundle.ts'

async function startApp(): Promise<{ app: Switchboard; port: number }> {
  const app = new Switchboard({ logger: false })
  // The token is the user id; 'bad' (and no token at all) is refused.
  app.channels.configure({
    auth: ({ token }) => {
      if (token === undefined || token === 'bad')
        throw new SwitchboardError('SWB_ERR_AUTH_UNAUTHORIZED')
      return { user: token }
    },
  })
  app.channels.namespace('chat', { historySize: 100 })
  app.channels.namespace('vip', { canSubscribe: ({ user }) => user === 'boss' })
  const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, port }
}

interface Proxy {
  port: number
  /** GET requests for the stream seen so far (EventSource opens and probes). */
  streams: number
  /** Ticket POSTs seen so far. */
  tickets: number
  /** Answer this many more stream GETs with 503 instead of forwarding them. */
  refuse503: number
  /** Destroy every forwarded stream response now (a network cut after the stream opened). */
  cutStreams(): void
  close(): Promise<void>
}

async function startProxy(target: number): Promise<Proxy> {
  const open = new Set<{ destroy(): void }>()
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/'
    const isStream = req.method === 'GET' && url.includes('channel=')
    if (isStream) proxy.streams++
    if (req.method === 'POST' && url.includes('/ticket')) proxy.tickets++
    if (isStream && proxy.refuse503 > 0) {
      proxy.refuse503--
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '0' })
      res.end('busy')
      return
    }
    const up = request(
      { host: '127.0.0.1', port: target, path: url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    up.on('error', () => res.destroy())
    req.pipe(up)
    if (isStream) {
      open.add(res)
      res.on('close', () => {
        open.delete(res)
        up.destroy()
      })
    }
  })
  const proxy: Proxy = {
    port: 0,
    streams: 0,
    tickets: 0,
    refuse503: 0,
    cutStreams: () => {
      for (const r of open) r.destroy()
    },
    close: () => {
      server.closeAllConnections()
      return new Promise((r) => server.close(() => r()))
    },
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  proxy.port = (server.address() as { port: number }).port
  return proxy
}

const clients: SwitchboardClient[] = []
const stops: Array<() => Promise<void>> = []
after(async () => {
  for (const c of clients) c.disconnect()
  for (const stop of stops) await stop()
})

async function setup(): Promise<{ app: Switchboard; proxy: Proxy }> {
  const { app, port } = await startApp()
  const proxy = await startProxy(port)
  stops.push(
    () => proxy.close(),
    () => app.close({ graceful: 0 }),
  )
  return { app, proxy }
}

function client(port: number, options: Partial<ClientOptions> = {}) {
  const c = new SwitchboardClient({
    url: `http://127.0.0.1:${port}/switchboard`,
    transport: 'sse',
    EventSource: EventSource as unknown as EventSourceConstructor,
    token: 'u1',
    minReconnectDelay: 20,
    maxReconnectDelay: 100,
    visibility: null,
    ...options,
  })
  clients.push(c)
  const states: StateEvent[] = []
  const errors: ClientError[] = []
  c.on('state', (e) => states.push(e))
  c.on('error', (e) => errors.push(e))
  return { c, states, errors }
}

/** Lets any further (unwanted) reconnects happen before counting requests. */
const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms))

describe('client on SSE: a stream the server refuses', () => {
  test('a forbidden channel gets SWB_ERR_CHANNEL_FORBIDDEN within a second while the other channel keeps receiving', async () => {
    const { app, proxy } = await setup()
    const { c, states } = client(proxy.port)
    const got: unknown[] = []
    const errors: ClientError[] = []
    const subStates: string[] = []
    c.subscribe('chat:a', { onPublication: (p) => got.push(p.data) })
    const vip = c.subscribe('vip:x', {
      onError: (e) => errors.push(e),
      onState: (e) => subStates.push(`${e.state}:${e.code}`),
    })
    const started = Date.now()
    c.connect()
    await until(() => errors.length === 1, 'the refused subscription to fail', 1000)
    assert.ok(Date.now() - started < 1000)
    assert.equal(errors[0]?.code, 'SWB_ERR_CHANNEL_FORBIDDEN')
    assert.equal(vip.state, 'unsubscribed')
    assert.deepEqual(subStates, ['subscribing:1', 'unsubscribed:4'])
    await until(() => c.getSubscription('chat:a')?.state === 'subscribed', 'chat:a subscribed')
    await app.hub.publish('chat:a', 'one')
    await app.hub.publish('chat:a', 'two')
    await until(() => got.length === 2, 'both publications')
    assert.deepEqual(got, ['one', 'two'])
    assert.equal(c.state, 'connected')
    assert.equal(
      states.filter((s) => s.state === 'disconnected').length,
      0,
      'the client never stopped',
    )
    await settle()
    // open [chat:a, vip:x] (403), its probe (403), open [chat:a] (200)
    assert.equal(proxy.streams, 3)
    assert.equal(app.hub.subscriberCount('vip:x'), 0)
  })

  test('a forbidden channel subscribed while connected fails alone; the stream reopens without it', async () => {
    const { app, proxy } = await setup()
    const { c, states } = client(proxy.port)
    const got: unknown[] = []
    c.subscribe('chat:b', { onPublication: (p) => got.push(p.data) })
    c.connect()
    await until(() => c.getSubscription('chat:b')?.state === 'subscribed', 'chat:b subscribed')
    const before = proxy.streams
    const errors: ClientError[] = []
    c.subscribe('vip:y', { onError: (e) => errors.push(e) })
    await until(() => errors.length === 1, 'the refused subscription to fail', 1000)
    assert.equal(errors[0]?.code, 'SWB_ERR_CHANNEL_FORBIDDEN')
    await until(() => app.hub.subscriberCount('chat:b') === 1, 'chat:b streamed again')
    await app.hub.publish('chat:b', 'after')
    await until(() => got.includes('after'), 'the publication after the refusal')
    await settle()
    assert.equal(proxy.streams - before, 3) // refused open, probe, open without vip:y
    assert.equal(c.state, 'connected')
    assert.ok(states.every((s) => s.state !== 'disconnected'))
  })

  test('a channel of an unknown namespace fails with SWB_ERR_CHANNEL_UNKNOWN_NAMESPACE and the client connects', async () => {
    const { proxy } = await setup()
    const { c } = client(proxy.port)
    const errors: ClientError[] = []
    const sub = c.subscribe('nowhere:x', { onError: (e) => errors.push(e) })
    c.connect()
    await until(() => errors.length === 1, 'the subscription error', 1000)
    assert.equal(errors[0]?.code, 'SWB_ERR_CHANNEL_UNKNOWN_NAMESPACE')
    assert.equal(sub.state, 'unsubscribed')
    await until(() => c.state === 'connected', 'connected without a stream')
    await settle()
    assert.equal(proxy.streams, 2) // the refused open and its probe; nothing left to stream
  })

  test('a token function that keeps returning a refused token stops the client after two attempts', async () => {
    const { proxy } = await setup()
    let asked = 0
    const { c, states, errors } = client(proxy.port, {
      token: () => {
        asked++
        return 'bad'
      },
    })
    c.subscribe('chat:c')
    c.connect()
    await until(() => c.state === 'disconnected', 'the client to stop', 2000)
    const last = states.at(-1)
    assert.equal(last?.code, 3500)
    assert.match(last?.reason ?? '', /SWB_ERR_AUTH_UNAUTHORIZED/)
    assert.equal(errors.at(-1)?.code, 'SWB_ERR_CLIENT_CLOSED')
    await settle()
    assert.equal(asked, 2)
    assert.equal(proxy.tickets, 2)
    assert.equal(proxy.streams, 0)
  })

  test('a token function asked again after a refusal recovers with its new token', async () => {
    const { app, proxy } = await setup()
    const tokens = ['bad', 'u2']
    const { c } = client(proxy.port, { token: () => tokens.shift() ?? 'u2' })
    const got: unknown[] = []
    c.subscribe('chat:d', { onPublication: (p) => got.push(p.data) })
    c.connect()
    await until(() => c.getSubscription('chat:d')?.state === 'subscribed', 'chat:d subscribed')
    await app.hub.publish('chat:d', 'hi')
    await until(() => got.length === 1, 'the publication')
    assert.equal(proxy.tickets, 2)
  })

  test('a stream refused with 401 and no token to refresh stops the client at once with 3500', async () => {
    const { proxy } = await setup()
    const { c, states } = client(proxy.port, { token: undefined })
    c.subscribe('chat:e')
    c.connect()
    await until(() => c.state === 'disconnected', 'the client to stop', 1000)
    assert.equal(states.at(-1)?.code, 3500)
    assert.match(states.at(-1)?.reason ?? '', /SWB_ERR_AUTH_UNAUTHORIZED/)
    await settle()
    assert.equal(proxy.streams, 2) // the open and its probe
  })

  test('503 answers from a proxy in front still reconnect with backoff until the stream opens', async () => {
    const { app, proxy } = await setup()
    proxy.refuse503 = 3 // open, probe, next open
    const { c } = client(proxy.port)
    const got: unknown[] = []
    const errors: ClientError[] = []
    c.subscribe('chat:f', {
      onPublication: (p) => got.push(p.data),
      onError: (e) => errors.push(e),
    })
    c.connect()
    await until(() => c.getSubscription('chat:f')?.state === 'subscribed', 'chat:f subscribed')
    await app.hub.publish('chat:f', 'through')
    await until(() => got.length === 1, 'the publication')
    assert.equal(errors.length, 0)
    assert.equal(proxy.refuse503, 0)
    assert.ok(proxy.streams >= 4, `${proxy.streams} stream requests`)
  })

  test('a stream cut after it opened reconnects without a probe', async () => {
    const { app, proxy } = await setup()
    const { c, states } = client(proxy.port)
    const got: unknown[] = []
    c.subscribe('chat:g', { onPublication: (p) => got.push(p.data) })
    c.connect()
    await until(() => c.getSubscription('chat:g')?.state === 'subscribed', 'chat:g subscribed')
    assert.equal(proxy.streams, 1)
    proxy.cutStreams()
    await until(() => states.some((s) => s.code === 1006), 'the client to notice the cut')
    await until(() => proxy.streams === 2, 'the stream reopened')
    await until(() => app.hub.subscriberCount('chat:g') === 1, 'chat:g streamed again')
    await app.hub.publish('chat:g', 'again')
    await until(() => got.includes('again'), 'the publication after the cut')
    assert.equal(proxy.streams, 2) // the first stream and the reopened one: no probe
  })
})

test('in Chromium, the native EventSource refused with 403 gives the subscription its code and the other channel streams on', {
  skip: chromiumSkipReason(),
}, async () => {
  const code = await browserClientBundle()
  const { app, proxy } = await setup()
  app.get('/', (ctx) => ctx.html('<!doctype html><meta charset="utf-8"><title>refusal</title>'))
  app.get('/sb.js', (ctx) => ctx.send(code, 200, 'text/javascript; charset=utf-8'))
  const { chromium } = await import('playwright-core')
  const profile = mkdtempSync(join(tmpdir(), 'switchboard-refusal-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS],
    timeout: 20_000,
  })
  try {
    const page = await context.newPage()
    await page.goto(`http://127.0.0.1:${proxy.port}/`)
    // Page code as text: tsx would inject helpers into a serialized function.
    await page.evaluate(`(async () => {
      const { SwitchboardClient } = await import('/sb.js')
      const client = new SwitchboardClient({
        url: location.origin + '/switchboard',
        transport: 'sse',
        token: 'u1',
        minReconnectDelay: 50,
        maxReconnectDelay: 100,
      })
      window.seen = { got: [], errors: [], vip: '' }
      client.subscribe('chat:h', { onPublication: (p) => window.seen.got.push(p.data) })
      const vip = client.subscribe('vip:h', { onError: (e) => window.seen.errors.push(e.code) })
      vip.on('state', (e) => { window.seen.vip = e.state })
      window.client = client
      client.connect()
    })()`)
    await page.waitForFunction('window.seen.errors.length === 1', undefined, { timeout: 2000 })
    await until(() => app.hub.subscriberCount('chat:h') === 1, 'chat:h streamed')
    await app.hub.publish('chat:h', 'to-chromium')
    await page.waitForFunction('window.seen.got.length === 1', undefined, { timeout: 2000 })
    const seen = (await page.evaluate('window.seen')) as {
      got: unknown[]
      errors: string[]
      vip: string
    }
    assert.deepEqual(seen, {
      got: ['to-chromium'],
      errors: ['SWB_ERR_CHANNEL_FORBIDDEN'],
      vip: 'unsubscribed',
    })
    await settle()
    assert.equal(proxy.streams, 3) // refused open, probe, open without vip:h
    await page.evaluate('window.client.disconnect()')
  } finally {
    await context.close()
    rmSync(profile, { recursive: true, force: true })
  }
})
