// Upgrade-time identity and the same-origin default (issue #16 item 7, issue #19 item 4): a
// cookie login authenticates WebSocket, SSE and POST alike with no token in a URL, and a page on
// another origin cannot use the cookie the browser attaches for it.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type ConnectRequest, Switchboard } from '../../src/index.ts'
import { until } from '../../src/test-utils/wait.ts'
import { ALICE_COOKIE, cookieAuth, postCommand, sseAttempt, wsAttempt } from './support.ts'

const EVIL = 'https://evil.example'

describe('a cookie login on the channel endpoint (default: same origin)', () => {
  const seen: ConnectRequest[] = []
  const app = new Switchboard({ logger: false })
  let http = ''
  let ws = ''
  let self = ''

  before(async () => {
    app.channels.configure({ auth: cookieAuth(seen) })
    app.channels.namespace('chat', { clientPublish: true })
    const { port } = await app.listen({ port: 0 })
    http = `http://127.0.0.1:${port}/switchboard`
    ws = `ws://127.0.0.1:${port}/switchboard`
    self = `http://127.0.0.1:${port}`
  })
  after(() => app.close({ graceful: 100 }))

  test('the connect hook gets the upgrade request: a WebSocket with only the cookie connects as its user', async () => {
    seen.length = 0
    const out = await wsAttempt(ws, { cookie: ALICE_COOKIE, origin: self, 'user-agent': 'ua/1' })
    try {
      assert.equal(out.status, 101)
      assert.equal((out.reply as { result?: { user?: string } }).result?.user, 'alice')
      const req = seen.at(-1)!.request!
      assert.equal(seen.at(-1)!.token, undefined)
      assert.equal(req.cookies.sid, 'alice-session')
      assert.equal(req.origin, self)
      assert.equal(req.headers['user-agent'], 'ua/1')
      assert.equal(req.remoteAddress, '127.0.0.1')
      assert.equal(req.url, '/switchboard')
    } finally {
      out.ws?.close()
    }
  })

  test('the SSE stream request and a POST command carry the cookie to the hook too', async () => {
    seen.length = 0
    const sse = await sseAttempt(`${http}?channel=chat:a`, { cookie: ALICE_COOKIE })
    try {
      assert.equal(sse.status, 200)
      await until(() => sse.text().includes('"user":"alice"'), 'connected as alice')
      assert.equal(seen.at(-1)!.request!.url, '/switchboard?channel=chat:a')
    } finally {
      sse.close()
    }
    const post = await postCommand(
      http,
      { id: 4, type: 'publish', channel: 'chat:a', data: 1 },
      { cookie: ALICE_COOKIE, origin: self },
    )
    assert.equal(post.status, 200)
    assert.equal(seen.at(-1)!.request!.cookies.sid, 'alice-session')
  })

  test('a WebSocket upgrade from another origin is refused with 403 before the hook runs', async () => {
    seen.length = 0
    const out = await wsAttempt(ws, { cookie: ALICE_COOKIE, origin: EVIL })
    assert.equal(out.status, 403)
    assert.equal(JSON.parse(out.body).error.code, 'SWB_ERR_WS_ORIGIN_FORBIDDEN')
    const opaque = await wsAttempt(ws, { cookie: ALICE_COOKIE, origin: 'null' })
    assert.equal(opaque.status, 403)
    assert.equal(seen.length, 0)
    assert.equal(app.hub.sessionsOf('alice').length, 0)
  })

  test('an SSE stream or POST that only a cookie authenticates is refused from another origin', async () => {
    seen.length = 0
    const sse = await sseAttempt(`${http}?channel=chat:a`, { cookie: ALICE_COOKIE, origin: EVIL })
    sse.close()
    assert.equal(sse.status, 403)
    assert.match(sse.text(), /SWB_ERR_AUTH_ORIGIN_FORBIDDEN/)
    // No Origin (an <img> or a link from another site): Sec-Fetch-Site tells.
    const img = await sseAttempt(`${http}?channel=chat:a`, {
      cookie: ALICE_COOKIE,
      'sec-fetch-site': 'cross-site',
    })
    img.close()
    assert.equal(img.status, 403)
    const post = await postCommand(
      http,
      { id: 1, type: 'publish', channel: 'chat:a', data: 'forged' },
      { cookie: ALICE_COOKIE, origin: EVIL },
    )
    assert.equal(post.status, 403)
    assert.equal(post.body.error?.code, 'SWB_ERR_AUTH_ORIGIN_FORBIDDEN')
    const ticket = await fetch(`${http}/ticket?channel=chat:a`, {
      method: 'POST',
      headers: { cookie: ALICE_COOKIE, origin: EVIL },
    })
    assert.equal(ticket.status, 403)
    assert.equal(seen.length, 0)
  })

  test('a bearer token is not ambient, and a request without cookies has nothing to hijack: neither is origin-checked', async () => {
    const post = await postCommand(
      http,
      { id: 1, type: 'publish', channel: 'chat:a', data: 'mine' },
      { authorization: 'Bearer bob', origin: EVIL },
    )
    assert.equal(post.status, 200)
    const anonymous = await postCommand(http, { id: 2, type: 'ping' }, { origin: EVIL })
    assert.equal(anonymous.status, 401)
    assert.equal(anonymous.body.error?.code, 'SWB_ERR_AUTH_UNAUTHORIZED')
  })
})

describe('allowedOrigins opens the endpoint to named origins, or to any by name', () => {
  test('a list allows its origins and still refuses others', async () => {
    const app = new Switchboard({ logger: false })
    app.channels.configure({ auth: cookieAuth(), allowedOrigins: ['https://app.example'] })
    app.channels.namespace('chat')
    const { port } = await app.listen({ port: 0 })
    try {
      const url = `ws://127.0.0.1:${port}/switchboard`
      const ok = await wsAttempt(url, { cookie: ALICE_COOKIE, origin: 'https://APP.example' })
      ok.ws?.close()
      assert.equal(ok.status, 101)
      assert.equal((await wsAttempt(url, { cookie: ALICE_COOKIE, origin: EVIL })).status, 403)
      const sse = await sseAttempt(`http://127.0.0.1:${port}/switchboard?channel=chat:a`, {
        cookie: ALICE_COOKIE,
        origin: 'https://app.example',
      })
      sse.close()
      assert.equal(sse.status, 200)
    } finally {
      await app.close({ graceful: 100 })
    }
  })

  test("'any' allows every origin; an unnamed wildcard is refused at configuration", async () => {
    const app = new Switchboard({ logger: false })
    app.channels.configure({ auth: cookieAuth(), allowedOrigins: 'any' })
    const { port } = await app.listen({ port: 0 })
    try {
      const out = await wsAttempt(`ws://127.0.0.1:${port}/switchboard`, {
        cookie: ALICE_COOKIE,
        origin: EVIL,
      })
      out.ws?.close()
      assert.equal(out.status, 101)
    } finally {
      await app.close({ graceful: 100 })
    }
    assert.throws(
      () => new Switchboard({ logger: false }).channels.configure({ allowedOrigins: '*' as never }),
      { code: 'SWB_ERR_INVALID_OPTION' },
    )
  })
})
