// CORS in headless Chromium: pages served by one app (origin A) talk to another app (origin B,
// another port) that uses cors(); a third page origin that B does not allow is blocked.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium, type Page } from 'playwright-core'
import { cors, HttpError, Switchboard, SwitchboardError } from '../../src/index.ts'
import { CHROMIUM, CHROMIUM_ARGS, chromiumSkipReason } from '../support/chromium.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const PAGE = '<!doctype html><meta charset="utf-8"><title>cors test</title>'
const skip = chromiumSkipReason()

let browser: Browser | undefined
const pageApp = new Switchboard({ logger: false }) // origin A: allowed by B
const otherApp = new Switchboard({ logger: false }) // another origin: not allowed by B
const api = new Switchboard({ logger: false }) // origin B
let originA = ''
let originOther = ''
let originB = ''
/** What B saw: `METHOD path` of every finished request. */
const seen: string[] = []
let echoed = 0

before(async () => {
  if (skip) return
  const built = spawnSync(process.execPath, [join(root, 'scripts/build-client.mjs')], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  })
  assert.equal(built.status, 0, built.stderr)
  pageApp.get('/', (ctx) => ctx.html(PAGE))
  otherApp.get('/', (ctx) => ctx.html(PAGE))
  originA = (await pageApp.listen({ port: 0, host: '127.0.0.1' })).url
  originOther = (await otherApp.listen({ port: 0, host: '127.0.0.1' })).url

  api.use(cors({ origin: [originA], exposedHeaders: ['x-echo-count'] }))
  api.onResponse((ctx) => {
    seen.push(`${ctx.method} ${ctx.path}`)
  })
  api.post('/api/echo', async (ctx) => {
    echoed++
    ctx.header('x-echo-count', String(echoed)).header('x-hidden', 'not exposed')
    return ctx.json({ echo: await ctx.readJson(), custom: ctx.headers['x-custom'] ?? null })
  })
  api.get('/api/secret', () => {
    throw new HttpError(401, 'Log in first', { code: 'SWB_ERR_AUTH_UNAUTHORIZED' })
  })
  api.sse('/events', (stream) => {
    for (let i = 1; i <= 3; i++) stream.send({ event: 'tick', data: String(i) })
  })
  api.channels.configure({
    auth: ({ token }) => {
      if (token === undefined) throw new SwitchboardError('SWB_ERR_AUTH_UNAUTHORIZED')
      return { user: token }
    },
  })
  api.channels.namespace('news', { historySize: 10, clientPublish: true })
  originB = (await api.listen({ port: 0, host: '127.0.0.1' })).url
  browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] })
})

after(async () => {
  await browser?.close()
  await Promise.all([
    api.close({ graceful: 200 }),
    pageApp.close({ graceful: 200 }),
    otherApp.close({ graceful: 200 }),
  ])
})

async function pageOn(origin: string): Promise<Page> {
  const page = await browser!.newPage()
  await page.goto(`${origin}/`)
  return page
}

test('a page on A fetches JSON from B with a custom header: the browser preflights, B answers, the page reads the body and an exposed header', {
  skip,
}, async () => {
  const page = await pageOn(originA)
  try {
    const before = seen.length
    const got = (await page.evaluate(`(async () => {
      const res = await fetch(${JSON.stringify(`${originB}/api/echo`)}, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-custom': 'yes' },
        body: JSON.stringify({ hello: 'B' }),
      })
      return { status: res.status, body: await res.json(), count: res.headers.get('x-echo-count'), hidden: res.headers.get('x-hidden') }
    })()`)) as {
      status: number
      body: unknown
      count: string | null
      hidden: string | null
    }
    assert.equal(got.status, 200)
    assert.deepEqual(got.body, { echo: { hello: 'B' }, custom: 'yes' })
    assert.equal(got.count, String(echoed), 'an exposed header is readable')
    assert.equal(got.hidden, null, 'a header not exposed is hidden from the page')
    assert.deepEqual(seen.slice(before), ['OPTIONS /api/echo', 'POST /api/echo'])
  } finally {
    await page.close()
  }
})

test('a page on A reads a coded 401 error body from B', { skip }, async () => {
  const page = await pageOn(originA)
  try {
    const got = (await page.evaluate(`(async () => {
      const res = await fetch(${JSON.stringify(`${originB}/api/secret`)})
      return { status: res.status, body: await res.json() }
    })()`)) as { status: number; body: { error: { code: string; message: string } } }
    assert.equal(got.status, 401)
    assert.equal(got.body.error.code, 'SWB_ERR_AUTH_UNAUTHORIZED')
    assert.equal(got.body.error.message, 'Log in first')
  } finally {
    await page.close()
  }
})

test('an EventSource on A receives the events of an app.sse() route on B', { skip }, async () => {
  const page = await pageOn(originA)
  try {
    const got = await page.evaluate(`new Promise((resolve, reject) => {
      const es = new EventSource(${JSON.stringify(`${originB}/events`)})
      const data = []
      es.addEventListener('tick', (e) => {
        data.push(e.data)
        if (data.length === 3) { es.close(); resolve(data) }
      })
      es.onerror = () => { es.close(); reject(new Error('EventSource failed after ' + data.length)) }
    })`)
    assert.deepEqual(got, ['1', '2', '3'])
  } finally {
    await page.close()
  }
})

test('a page on an origin B does not allow cannot fetch from B: the preflight fails and the request never runs', {
  skip,
}, async () => {
  const page = await pageOn(originOther)
  try {
    const before = echoed
    const outcome = await page.evaluate(`(async () => {
      try {
        await fetch(${JSON.stringify(`${originB}/api/echo`)}, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-custom': 'yes' },
          body: '{}',
        })
        return 'read'
      } catch (err) {
        return err.name
      }
    })()`)
    assert.equal(outcome, 'TypeError')
    assert.equal(echoed, before)
    // A simple GET is sent, but its answer (a 401 here) cannot be read.
    const simple = await page.evaluate(
      `fetch(${JSON.stringify(`${originB}/api/secret`)}).then(() => 'read', (e) => e.name)`,
    )
    assert.equal(simple, 'TypeError')
  } finally {
    await page.close()
  }
})

test('the client SDK served by B, imported by a page on A, subscribes over SSE with a token and receives publications both ways', {
  skip,
}, async () => {
  const page = await pageOn(originA)
  try {
    await page.evaluate(`(async () => {
      const { SwitchboardClient } = await import(${JSON.stringify(`${originB}/switchboard/client.js`)})
      const state = { got: [], subscribed: 0, errors: [] }
      const client = new SwitchboardClient({
        url: ${JSON.stringify(`${originB}/switchboard`)},
        transport: 'sse',
        token: 'ada',
        minReconnectDelay: 200,
        maxReconnectDelay: 400,
      })
      client.on('error', (e) => state.errors.push(String(e && (e.code || e.message))))
      client.subscribe('news:today', {
        onPublication: (p) => state.got.push(p.data),
        onSubscribed: () => { state.subscribed++ },
      })
      client.connect()
      window.sb = { client, state }
    })()`)
    await page.waitForFunction('window.sb.state.subscribed === 1', undefined, { timeout: 10_000 })
    await api.hub.publish('news:today', { from: 'server' })
    await page.waitForFunction('window.sb.state.got.length === 1', undefined, { timeout: 5_000 })
    // A publish from the page is a POSTed command (JSON, Bearer token: preflighted).
    await page.evaluate("window.sb.client.publish('news:today', { from: 'page' })")
    await page.waitForFunction('window.sb.state.got.length === 2', undefined, { timeout: 5_000 })
    const state = (await page.evaluate('window.sb.state')) as {
      got: unknown[]
      errors: string[]
    }
    assert.deepEqual(state.got, [{ from: 'server' }, { from: 'page' }])
    assert.deepEqual(state.errors, [])
    assert.equal(await page.evaluate('window.sb.client.transport'), 'sse')
    assert.ok(seen.includes('OPTIONS /switchboard/ticket'), 'the ticket POST was preflighted')
    assert.ok(seen.includes('GET /switchboard/client.js'))
    await page.evaluate('window.sb.client.disconnect()')
  } finally {
    await page.close()
  }
})
