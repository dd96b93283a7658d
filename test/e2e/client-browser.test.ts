// The browser bundle in headless Chromium (playwright-core + Debian's /usr/bin/chromium):
// subscribe, receive, publish, and recover after the server drops the connection, over
// WebSocket and over the native EventSource. Once against the real app, which serves the bundle
// at /switchboard/client.js (built first with scripts/build-client.mjs), and once against the
// hub harness with the bundle built in memory. Skipped with a reason when Chromium is missing
// locally, a failure when CI=true.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { BrowserContext, Page } from 'playwright-core'
import { Switchboard } from '../../src/index.ts'
import { CHROMIUM, CHROMIUM_ARGS, chromiumSkipReason } from '../support/chromium.ts'
import { browserClientBundle } from '../support/client-bundle.ts'
import { closeAllHarnesses, startHarness } from './hub-harness.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const PAGE = '<!doctype html><meta charset="utf-8"><title>switchboard client test</title>'
const skip = chromiumSkipReason()

let context: BrowserContext | null = null
let profile = ''
before(async () => {
  if (skip) return
  const { chromium } = await import('playwright-core')
  profile = mkdtempSync(join(tmpdir(), 'switchboard-client-chromium-'))
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS],
    timeout: 20_000,
  })
})
after(async () => {
  await context?.close()
  await closeAllHarnesses()
  if (profile !== '') rmSync(profile, { recursive: true, force: true })
})

interface Server {
  /** Page origin, serving PAGE at `/` and the bundle at `/switchboard/client.js`. */
  origin: string
  /** Channel endpoint. */
  url: string
  token?: string
  publish(channel: string, data: unknown): Promise<unknown>
  /** Drops every client connection (reconnect allowed). */
  kick(): Promise<void>
}

type Seen = {
  got: unknown[]
  offsets: number[]
  subscribed: Array<{ recovered?: boolean }>
  transport: string
}

/** Two page clients (WebSocket and SSE) through subscribe, receive, publish, drop, recover. */
async function scenario(page: Page, server: Server): Promise<void> {
  await page.goto(`${server.origin}/`)
  // Page code is passed as text: tsx would inject helpers into a serialized function.
  await page.evaluate(`(async () => {
    const { SwitchboardClient } = await import('/switchboard/client.js')
    const make = (transport) => {
      const state = { got: [], offsets: [], subscribed: [], transport: '' }
      const client = new SwitchboardClient({
        url: ${JSON.stringify(server.url)},
        ${server.token === undefined ? '' : `token: ${JSON.stringify(server.token)},`}
        transport,
        minReconnectDelay: 400,
        maxReconnectDelay: 400,
        random: () => 0.5,
      })
      client.subscribe('chat:browser', {
        onPublication: (p) => { state.got.push(p.data); state.offsets.push(p.offset) },
        onSubscribed: (s) => state.subscribed.push(s),
      })
      client.on('state', () => { state.transport = client.transport ?? '' })
      client.connect()
      return { client, state }
    }
    window.ws = make('websocket')
    window.sse = make('sse')
  })()`)
  const both = (expr: string) =>
    page.waitForFunction(`window.ws.state.${expr} && window.sse.state.${expr}`, undefined, {
      timeout: 5000,
    })
  await both('subscribed.length === 1')
  await server.publish('chat:browser', 'from-node')
  await both('got.length === 1')
  const published = (await page.evaluate(
    "window.ws.client.publish('chat:browser', 'from-browser')",
  )) as { offset: number }
  assert.equal(published.offset, 2)
  await both('got.length === 2')

  // The server drops every connection; 5 publications happen while the clients wait 200 ms.
  await server.kick()
  for (let i = 0; i < 5; i++) await server.publish('chat:browser', `missed-${i}`)
  await both('subscribed.length === 2')
  await both('got.length === 7')
  const states = (await page.evaluate('({ ws: window.ws.state, sse: window.sse.state })')) as {
    ws: Seen
    sse: Seen
  }
  const expected = ['from-node', 'from-browser', 'missed-0', 'missed-1', 'missed-2', 'missed-3']
  for (const [name, s] of Object.entries(states)) {
    assert.deepEqual(s.got, [...expected, 'missed-4'], name)
    assert.deepEqual(s.offsets, [1, 2, 3, 4, 5, 6, 7], name)
    assert.equal(s.subscribed[1]?.recovered, true, name)
  }
  assert.equal(states.ws.transport, 'websocket')
  assert.equal(states.sse.transport, 'sse')
  await page.evaluate('window.ws.client.disconnect(); window.sse.client.disconnect()')
}

test('the bundle served by the app at /switchboard/client.js works in Chromium over WebSocket and SSE', {
  skip,
}, async () => {
  const built = spawnSync(process.execPath, [join(root, 'scripts/build-client.mjs')], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  })
  assert.equal(built.status, 0, built.stderr)
  const app = new Switchboard({ logger: false })
  app.channels.configure({ auth: ({ token }) => ({ user: token ?? '' }) })
  app.channels.namespace('chat', { historySize: 100, clientPublish: true })
  app.get('/', (ctx) => ctx.html(PAGE))
  const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
  const page = await context!.newPage()
  try {
    await scenario(page, {
      origin: `http://127.0.0.1:${port}`,
      url: `ws://127.0.0.1:${port}/switchboard`,
      token: 'u1',
      publish: (channel, data) => app.hub.publish(channel, data),
      kick: () => app.hub.disconnect('u1', 3003, 'test'),
    })
  } finally {
    await page.close()
    await app.close({ graceful: 0 })
  }
})

test('the bundle works in Chromium against the hub harness', { skip }, async () => {
  const code = await browserClientBundle()
  const h = await startHarness(0, undefined, (req, res) => {
    if (req.url === '/switchboard/client.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(code)
      return true
    }
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE)
      return true
    }
    return false
  })
  const page = await context!.newPage()
  try {
    await scenario(page, {
      origin: `http://127.0.0.1:${h.port}`,
      url: h.url,
      publish: (channel, data) => h.hub.publish(channel, data),
      kick: () => h.kick(),
    })
  } finally {
    await page.close()
    await h.close()
  }
})
