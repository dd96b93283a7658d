// The served browser bundle in headless Chromium (playwright-core + Debian's /usr/bin/chromium)
// against the real hub (hub-harness.ts): subscribe, receive, publish, and recover after the
// server drops the connection; the same over the native EventSource. Skipped with a reason when
// Chromium is missing locally, a failure when CI=true.
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { startHarness } from './hub-harness.ts'

const CHROMIUM = '/usr/bin/chromium'
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
const root = fileURLToPath(new URL('../..', import.meta.url))

/** The same bundle `npm run build:client` writes, built in memory. */
async function bundle(): Promise<string> {
  const r = await build({
    entryPoints: [join(root, 'src/client/index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    write: false,
  })
  return r.outputFiles[0]!.text
}

const PAGE = '<!doctype html><meta charset="utf-8"><title>switchboard client test</title>'

test('the bundle in Chromium subscribes, receives, publishes and recovers after a drop, over WebSocket and SSE', async (t) => {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI === 'true') assert.fail(`${CHROMIUM} is missing; CI must install chromium`)
    t.skip(`${CHROMIUM} is not installed`)
    return
  }
  const code = await bundle()
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
  const { chromium } = await import('playwright-core')
  const profile = mkdtempSync(join(tmpdir(), 'switchboard-client-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    timeout: 20_000,
  })
  try {
    const page = context.pages()[0] ?? (await context.newPage())
    await page.goto(`http://127.0.0.1:${h.port}/`)
    // Page code is passed as text: tsx would inject helpers into a serialized function.
    await page.evaluate(`(async () => {
      const { SwitchboardClient } = await import('/switchboard/client.js')
      const make = (transport) => {
        const state = { got: [], offsets: [], subscribed: [], transport: '' }
        const client = new SwitchboardClient({
          url: ${JSON.stringify(h.url)},
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
    await h.hub.publish('chat:browser', 'from-node')
    await both('got.length === 1')
    const published = await page.evaluate(() =>
      (
        window as unknown as {
          ws: { client: { publish(c: string, d: unknown): Promise<{ offset: number }> } }
        }
      ).ws.client.publish('chat:browser', 'from-browser'),
    )
    assert.equal(published.offset, 2)
    await both('got.length === 2')

    // The server drops every connection; 5 publications happen while the clients wait 200 ms.
    await h.kick()
    for (let i = 0; i < 5; i++) await h.hub.publish('chat:browser', `missed-${i}`)
    await both('subscribed.length === 2')
    await both('got.length === 7')
    type Seen = {
      got: unknown[]
      offsets: number[]
      subscribed: Array<{ recovered?: boolean }>
      transport: string
    }
    const states = (await page.evaluate('({ ws: window.ws.state, sse: window.sse.state })')) as {
      ws: Seen
      sse: Seen
    }
    for (const [name, s] of Object.entries(states)) {
      assert.deepEqual(
        s.got,
        ['from-node', 'from-browser', 'missed-0', 'missed-1', 'missed-2', 'missed-3', 'missed-4'],
        name,
      )
      assert.deepEqual(s.offsets, [1, 2, 3, 4, 5, 6, 7], name)
      assert.equal(s.subscribed[1]?.recovered, true, name)
    }
    assert.equal(states.ws.transport, 'websocket')
    assert.equal(states.sse.transport, 'sse')
  } finally {
    await context.close()
    rmSync(profile, { recursive: true, force: true })
    await h.close()
  }
})
