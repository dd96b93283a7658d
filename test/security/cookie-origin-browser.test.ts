// Cross-site WebSocket hijacking, tried in headless Chromium: alice logs in on the app (origin V),
// which sets a session cookie. A page on another origin (E: another port of the same host, so the
// browser attaches alice's cookie to its requests) opens a WebSocket and an EventSource to V.
// V must refuse both: the hook never sees E's requests and no session of alice exists. The same
// page code on V itself connects as alice, so the refusal is the Origin check, not a lost cookie.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type Browser, chromium } from 'playwright-core'
import { type ConnectRequest, Switchboard } from '../../src/index.ts'
import { until } from '../../src/test-utils/wait.ts'
import { CHROMIUM, CHROMIUM_ARGS, chromiumSkipReason } from '../support/chromium.ts'
import { cookieAuth, sseScript, wsScript } from './support.ts'

const skip = chromiumSkipReason()
const PAGE = '<!doctype html><meta charset="utf-8"><title>page</title>'
const seen: ConnectRequest[] = []
const victim = new Switchboard({ logger: false })
const attacker = new Switchboard({ logger: false })
let browser: Browser | undefined
let originV = ''
let originE = ''

before(async () => {
  if (skip) return
  victim.channels.configure({ auth: cookieAuth(seen) })
  victim.channels.namespace('inbox', { presence: true })
  victim.get('/', (ctx) => ctx.html(PAGE))
  victim.get('/login', (ctx) =>
    ctx.setCookie('sid', 'alice-session', { httpOnly: true, sameSite: 'lax' }).html(PAGE),
  )
  attacker.get('/', (ctx) => ctx.html(PAGE))
  originV = (await victim.listen({ port: 0, host: '127.0.0.1' })).url
  originE = (await attacker.listen({ port: 0, host: '127.0.0.1' })).url
  browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] })
})

after(async () => {
  await browser?.close()
  await Promise.all([victim.close({ graceful: 100 }), attacker.close({ graceful: 100 })])
})

test('a page on another origin cannot open a WebSocket or an SSE stream as the cookie-logged-in user', {
  skip,
}, async () => {
  const context = await browser!.newContext()
  const login = await context.newPage()
  await login.goto(`${originV}/login`)
  const cookies = await context.cookies(originV)
  assert.ok(
    cookies.some((c) => c.name === 'sid'),
    'the login set the session cookie',
  )
  const wsUrl = `${originV.replace('http', 'ws')}/switchboard`
  const sseUrl = `${originV}/switchboard?channel=inbox:alice`
  try {
    // Control: on V itself the cookie logs alice in over both transports.
    await login.goto(`${originV}/`)
    assert.equal(await login.evaluate(wsScript(wsUrl)), 'user:alice')
    assert.equal(await login.evaluate(sseScript(sseUrl)), 'user:alice')
    assert.ok(seen.some((r) => r.request?.cookies.sid === 'alice-session'))

    await until(() => victim.hub.sessionsOf('alice').length === 0, 'the control sessions ended')

    // The attack: the same code on E. The browser sends alice's cookie (same site) and E's Origin.
    seen.length = 0
    const evil = await context.newPage()
    await evil.goto(`${originE}/`)
    const ws = (await evil.evaluate(wsScript(wsUrl))) as string
    const sse = (await evil.evaluate(sseScript(sseUrl))) as string
    assert.match(ws, /^closed:/, `the WebSocket from another origin got ${ws}`)
    assert.equal(sse, 'error')
    assert.equal(seen.length, 0, 'the connect hook never saw the cross-origin requests')
    assert.equal(victim.hub.sessionsOf('alice').length, 0)
  } finally {
    await context.close()
  }
})
