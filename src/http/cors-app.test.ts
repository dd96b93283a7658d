// CORS with the rest of the app: error answers, groups, SSE and the channel endpoint, options.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { Switchboard } from '../app.ts'
import { HttpError, SwitchboardError } from '../errors/index.ts'
import { type CorsOptions, cors } from './cors.ts'
import { APP, appWith, corsHeaders, EVIL, preflight } from './test-utils/cors-app.ts'

describe('error answers keep the CORS headers', () => {
  for (const [path, status, code] of [
    ['/401', 401, 'SWB_ERR_AUTH_UNAUTHORIZED'],
    ['/403', 403, 'SWB_ERR_CHANNEL_FORBIDDEN'],
    ['/missing', 404, 'SWB_ERR_NOT_FOUND'],
    ['/boom', 500, 'SWB_ERR_INTERNAL'],
  ] as const) {
    test(`a ${status} (${code}) answer carries Allow-Origin, Credentials, Expose-Headers and Vary`, async () => {
      const app = appWith({ origin: APP, credentials: true, exposedHeaders: ['x-request-id'] })
      const res = await app.request(path, { headers: { origin: APP } })
      assert.equal(res.status, status)
      const body = (await res.json()) as { error: { code: string } }
      assert.equal(body.error.code, code)
      assert.deepEqual(corsHeaders(res), {
        'access-control-allow-origin': APP,
        'access-control-allow-credentials': 'true',
        'access-control-expose-headers': 'x-request-id',
      })
      assert.equal(res.headers.get('vary'), 'Origin')
      assert.ok(res.headers.get('x-request-id'))
    })
  }

  test('405 keeps its Allow and the CORS headers; 413 from a body limit keeps them too', async () => {
    const app = appWith({ origin: APP })
    const res = await app.request('/only-get', { method: 'DELETE', headers: { origin: APP } })
    assert.equal(res.status, 405)
    assert.equal(res.headers.get('allow'), 'GET, HEAD, OPTIONS')
    assert.equal(res.headers.get('access-control-allow-origin'), APP)
    const big = await app.request('/upload', {
      method: 'POST',
      headers: { origin: APP, 'content-type': 'application/json' },
      body: '{"much":"too long"}',
    })
    assert.equal(big.status, 413)
    assert.equal(big.headers.get('access-control-allow-origin'), APP)
  })

  test('an error answer for a disallowed origin still has no CORS headers', async () => {
    const res = await appWith({ origin: APP }).request('/401', { headers: { origin: EVIL } })
    assert.equal(res.status, 401)
    assert.deepEqual(corsHeaders(res), {})
  })

  test('an HttpError that carries headers of its own keeps them beside the CORS headers', async () => {
    const app = new Switchboard({ logger: false })
    app.use(cors({ origin: APP }))
    app.get('/slow-down', () => {
      throw new HttpError(429, 'Too many', { headers: { 'retry-after': '3' } })
    })
    const res = await app.request('/slow-down', { headers: { origin: APP } })
    assert.equal(res.status, 429)
    assert.equal(res.headers.get('retry-after'), '3')
    assert.equal(res.headers.get('access-control-allow-origin'), APP)
  })
})

describe('groups, SSE and the channel endpoint', () => {
  test('group.use(cors()) answers preflights for the group’s GET-only routes and leaves other paths alone', async () => {
    const app = new Switchboard({ logger: false })
    const api = app.group('/api')
    api.use(cors({ origin: APP }))
    api.get('/items', (ctx) => ctx.json([1]))
    app.get('/public', (ctx) => ctx.json('p'))
    const pre = await preflight(app, '/api/items', APP, 'GET', 'x-custom')
    assert.equal(pre.status, 204)
    assert.equal(pre.headers.get('access-control-allow-origin'), APP)
    assert.equal(pre.headers.get('access-control-allow-headers'), 'x-custom')
    const wrong = await app.request('/api/items', { method: 'PUT', headers: { origin: APP } })
    assert.equal(wrong.status, 405)
    assert.equal(wrong.headers.get('access-control-allow-origin'), APP)
    const get = await app.request('/api/items', { headers: { origin: APP } })
    assert.equal(get.headers.get('access-control-allow-origin'), APP)
    // Outside the group: no CORS, and OPTIONS is the automatic Allow answer.
    const outside = await preflight(app, '/public', APP, 'GET')
    assert.equal(outside.status, 204)
    assert.equal(outside.headers.get('allow'), 'GET, HEAD, OPTIONS')
    assert.deepEqual(corsHeaders(outside), {})
    const notFound = await preflight(app, '/api/none', APP, 'GET')
    assert.equal(notFound.status, 404)
    // A requested method no route has (or that is not a method at all) still finds the group.
    for (const method of ['BREW', 'get', 'a b']) {
      const odd = await preflight(app, '/api/items', APP, method)
      assert.equal(odd.status, 204, method)
      assert.equal(odd.headers.get('access-control-allow-origin'), APP, method)
    }
  })

  test('an app.sse() stream carries the CORS headers with its event-stream head', async () => {
    const app = new Switchboard({ logger: false })
    app.use(cors({ origin: APP, credentials: true }))
    app.sse('/events', (stream) => {
      stream.send({ data: 'one' })
      stream.close()
    })
    const res = await app.request('/events', {
      headers: { origin: APP, accept: 'text/event-stream' },
    })
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/)
    assert.equal(res.headers.get('access-control-allow-origin'), APP)
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true')
    assert.match(await res.text(), /data: one/)
  })

  test('the channel endpoint: preflight for POST commands and the ticket route, coded refusals, and the SSE stream all carry CORS headers', async () => {
    const app = new Switchboard({ logger: false })
    app.use(cors({ origin: APP }))
    app.channels.configure({
      auth: ({ token }) => {
        if (token === undefined) throw new SwitchboardError('SWB_ERR_AUTH_UNAUTHORIZED')
        return { user: token }
      },
    })
    app.channels.namespace('news')
    const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
    const base = `http://127.0.0.1:${port}/switchboard`
    try {
      for (const path of ['/switchboard', '/switchboard/ticket']) {
        const pre = await preflight(app, path, APP, 'POST', 'content-type,authorization')
        assert.equal(pre.status, 204, path)
        assert.equal(pre.headers.get('access-control-allow-origin'), APP, path)
        assert.equal(
          pre.headers.get('access-control-allow-headers'),
          'content-type, authorization',
          path,
        )
      }
      const refused = await fetch(`${base}/ticket`, { method: 'POST', headers: { origin: APP } })
      assert.equal(refused.status, 401)
      assert.equal(refused.headers.get('access-control-allow-origin'), APP)
      assert.equal(
        ((await refused.json()) as { error: { code: string } }).error.code,
        'SWB_ERR_AUTH_UNAUTHORIZED',
      )
      const ticket = await fetch(`${base}/ticket?channel=news:today`, {
        method: 'POST',
        headers: { origin: APP, authorization: 'Bearer ada' },
      })
      assert.equal(ticket.headers.get('access-control-allow-origin'), APP)
      const command = await fetch(base, {
        method: 'POST',
        headers: { origin: APP, 'content-type': 'application/json', authorization: 'Bearer ada' },
        body: JSON.stringify({ id: 1, type: 'rpc', method: 'nope', data: null }),
      })
      assert.equal(command.headers.get('access-control-allow-origin'), APP)
      await command.arrayBuffer()

      const noToken = await fetch(`${base}?channel=news:today`, {
        headers: { origin: APP, accept: 'text/event-stream' },
      })
      assert.equal(noToken.status, 401)
      assert.equal(noToken.headers.get('access-control-allow-origin'), APP)
      await noToken.arrayBuffer()

      const { ticket: t } = (await ticket.json()) as { ticket: string }
      const stop = new AbortController()
      const stream = await fetch(`${base}?channel=news:today&ticket=${encodeURIComponent(t)}`, {
        headers: { origin: APP, accept: 'text/event-stream' },
        signal: stop.signal,
      })
      assert.equal(stream.status, 200)
      assert.match(stream.headers.get('content-type') ?? '', /^text\/event-stream/)
      assert.equal(stream.headers.get('access-control-allow-origin'), APP)
      stop.abort()
      await stream.body?.cancel().catch(() => {})
    } finally {
      await app.close({ graceful: 200 })
    }
  })
})

describe('options', () => {
  test('nonsense is refused once, with SWB_ERR_INVALID_OPTION naming the option', () => {
    const bad: [unknown, RegExp][] = [
      [{ origins: [APP] }, /unknown option "origins"/],
      [{ origin: `${APP}/` }, /not an origin/],
      [{ origin: [APP, 'app.example'] }, /not an origin/],
      [{ origin: 'null' }, /"null"/],
      [{ origin: 42 }, /origin must be/],
      [{ origin: [APP, 7] }, /entries must be strings/],
      [{ origin: /app/g }, /g or y flag/],
      [{ origin: '*', credentials: true }, /cannot be used with credentials/],
      [{ origin: APP, credentials: 'yes' }, /credentials must be a boolean/],
      [{ origin: APP, methods: 'GET' }, /methods must be an array/],
      [{ origin: APP, methods: ['GET POST'] }, /not an HTTP token/],
      [{ origin: APP, allowedHeaders: ['x-a\r\n'] }, /allowedHeaders/],
      [{ origin: APP, exposedHeaders: [''] }, /exposedHeaders/],
      [{ origin: APP, maxAge: -1 }, /maxAge/],
      [{ origin: APP, maxAge: 1.5 }, /maxAge/],
      [{ origin: APP, preflightStatus: 404 }, /preflightStatus/],
      [null, /options must be an object/],
    ]
    for (const [options, message] of bad) {
      assert.throws(
        () => cors(options as CorsOptions),
        (err: unknown) =>
          err instanceof SwitchboardError &&
          err.code === 'SWB_ERR_INVALID_OPTION' &&
          message.test(err.message),
        JSON.stringify(options),
      )
    }
  })

  test('an empty allowedHeaders list allows no request headers (and does not reflect)', async () => {
    const res = await preflight(
      appWith({ origin: APP, allowedHeaders: [] }),
      '/data',
      APP,
      'POST',
      'x-a',
    )
    assert.equal(res.headers.get('access-control-allow-headers'), null)
    assert.equal(res.headers.get('vary'), 'Origin')
  })
})
