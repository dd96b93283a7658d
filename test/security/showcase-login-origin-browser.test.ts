// The showcase's own cookie login against cross-site WebSocket hijacking, in headless Chromium:
// ada signs in on the showcase (origin V) through its login form's POST, which sets the HttpOnly
// session cookie. A page on another origin (E: another port of the same host, so the browser
// attaches ada's cookie) opens a WebSocket and an EventSource to V's channel endpoint. V must
// refuse both; the same page code on V itself is signed in as ada, so the refusal is the Origin
// check, not a missing cookie.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type Browser, chromium } from 'playwright-core'
import { createShowcase } from '../../examples/showcase/app.ts'
import { Switchboard } from '../../src/index.ts'
import { until } from '../../src/test-utils/wait.ts'
import { CHROMIUM, CHROMIUM_ARGS, chromiumSkipReason } from '../support/chromium.ts'
import { sseScript, wsScript } from './support.ts'

const skip = chromiumSkipReason()
const PAGE = '<!doctype html><meta charset="utf-8"><title>page</title>'
const showcase = createShowcase({ logger: false })
const attacker = new Switchboard({ logger: false })
let browser: Browser | undefined
let originV = ''
let originE = ''

before(async () => {
  if (skip) return
  attacker.get('/', (ctx) => ctx.html(PAGE))
  originV = (await showcase.listen({ port: 0, host: '127.0.0.1' })).url
  originE = (await attacker.listen({ port: 0, host: '127.0.0.1' })).url
  browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] })
})

after(async () => {
  await browser?.close()
  await Promise.all([showcase.close({ graceful: 100 }), attacker.close({ graceful: 100 })])
})

test('a page on another origin cannot open a WebSocket or an SSE stream as the user signed in to the showcase', {
  skip,
  timeout: 60_000,
}, async () => {
  const context = await browser!.newContext()
  try {
    const page = await context.newPage()
    await page.goto(`${originV}/login`)
    // The login form's request, from the page, so the browser keeps the cookie it sets.
    const status = await page.evaluate(`fetch('/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ada', password: 'lovelace' }),
    }).then((r) => r.status)`)
    assert.equal(status, 200)
    const cookies = await context.cookies(originV)
    assert.ok(
      cookies.some((c) => c.httpOnly),
      'the login set an HttpOnly session cookie',
    )
    const wsUrl = `${originV.replace('http', 'ws')}/switchboard`
    const sseUrl = `${originV}/switchboard?channel=chat:lobby`

    // Control: on V itself the cookie signs ada in over both transports.
    assert.equal(await page.evaluate(wsScript(wsUrl)), 'user:ada')
    assert.equal(await page.evaluate(sseScript(sseUrl)), 'user:ada')
    await until(() => showcase.hub.sessionsOf('ada').length === 0, 'the control sessions ended')

    // The attack: the same code on E. The browser sends ada's cookie (same site) and E's Origin.
    const evil = await context.newPage()
    await evil.goto(`${originE}/`)
    const ws = (await evil.evaluate(wsScript(wsUrl))) as string
    const sse = (await evil.evaluate(sseScript(sseUrl))) as string
    assert.match(ws, /^closed:/, `the WebSocket from another origin got ${ws}`)
    assert.equal(sse, 'error')
    assert.equal(showcase.hub.sessionsOf('ada').length, 0, 'no session of ada was opened')
  } finally {
    await context.close()
  }
})
