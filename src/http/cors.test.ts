import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { Switchboard } from '../app.ts'
import { HttpError, SwitchboardError } from '../errors/index.ts'
import {
  type CorsOptions,
  cors,
  MAX_REQUEST_HEADER_NAMES,
  MAX_REQUEST_HEADERS_LENGTH,
  parseRequestHeaders,
} from './cors.ts'

const APP = 'https://app.example'
const EVIL = 'https://evil.example'

function appWith(options: CorsOptions, runs?: string[]): Switchboard {
  const app = new Switchboard({ logger: false })
  app.use(cors(options))
  app.get('/data', (ctx) => {
    runs?.push(`GET ${ctx.headers.origin ?? '-'}`)
    return ctx.json({ ok: true })
  })
  app.post('/data', (ctx) => {
    runs?.push(`POST ${ctx.headers.origin ?? '-'}`)
    return ctx.json({ posted: true })
  })
  app.get('/only-get', (ctx) => ctx.json({ get: true }))
  app.get('/401', () => {
    throw new HttpError(401, 'Log in first', { code: 'SWB_ERR_AUTH_UNAUTHORIZED' })
  })
  app.get('/403', () => {
    throw new SwitchboardError('SWB_ERR_CHANNEL_FORBIDDEN')
  })
  app.get('/boom', () => {
    throw new Error('plain failure')
  })
  app.post('/upload', { bodyLimit: 4 }, async (ctx) => ctx.json(await ctx.readJson()))
  return app
}

function preflight(
  app: Switchboard,
  path: string,
  origin: string,
  method = 'POST',
  requestHeaders?: string,
): Promise<Response> {
  const headers: Record<string, string> = {
    origin,
    'access-control-request-method': method,
  }
  if (requestHeaders !== undefined) headers['access-control-request-headers'] = requestHeaders
  return app.request(path, { method: 'OPTIONS', headers })
}

function corsHeaders(res: Response): Record<string, string> {
  const out: Record<string, string> = {}
  res.headers.forEach((v, k) => {
    if (k.startsWith('access-control-')) out[k] = v
  })
  return out
}

describe('actual (non-preflight) requests', () => {
  test('an allowed origin is reflected, with Vary: Origin, and the route runs', async () => {
    const runs: string[] = []
    const app = appWith({ origin: APP }, runs)
    const res = await app.request('/data', { headers: { origin: APP } })
    assert.equal(res.status, 200)
    assert.deepEqual(await res.json(), { ok: true })
    assert.deepEqual(corsHeaders(res), { 'access-control-allow-origin': APP })
    assert.equal(res.headers.get('vary'), 'Origin')
    assert.deepEqual(runs, [`GET ${APP}`])
  })

  test('a request without Origin gets no CORS headers but still Vary: Origin, so caches keep the answers apart', async () => {
    const res = await appWith({ origin: APP }).request('/data')
    assert.equal(res.status, 200)
    assert.deepEqual(corsHeaders(res), {})
    assert.equal(res.headers.get('vary'), 'Origin')
  })

  test('a disallowed origin gets no CORS headers at all, and a simple request still runs', async () => {
    const runs: string[] = []
    const app = appWith({ origin: APP }, runs)
    const res = await app.request('/data', {
      method: 'POST',
      headers: { origin: EVIL, 'content-type': 'text/plain' },
      body: 'x',
    })
    assert.equal(res.status, 200)
    assert.deepEqual(corsHeaders(res), {})
    assert.equal(res.headers.get('vary'), 'Origin')
    assert.deepEqual(runs, [`POST ${EVIL}`])
  })

  test("origin '*' answers * without Vary, and for any origin", async () => {
    const app = appWith({ origin: '*' })
    for (const origin of [APP, EVIL, 'null']) {
      const res = await app.request('/data', { headers: { origin } })
      assert.equal(res.headers.get('access-control-allow-origin'), '*')
      assert.equal(res.headers.get('access-control-allow-credentials'), null)
      assert.equal(res.headers.get('vary'), null)
    }
  })

  test('credentials reflect the exact origin with Allow-Credentials, never *', async () => {
    const app = appWith({ origin: [APP, 'http://127.0.0.1:8080'], credentials: true })
    const res = await app.request('/data', { headers: { origin: 'http://127.0.0.1:8080' } })
    assert.deepEqual(corsHeaders(res), {
      'access-control-allow-origin': 'http://127.0.0.1:8080',
      'access-control-allow-credentials': 'true',
    })
    const other = await app.request('/data', { headers: { origin: 'http://127.0.0.1:8081' } })
    assert.deepEqual(corsHeaders(other), {})
  })

  test('a list of origins allows exactly its members (no prefix or case games)', async () => {
    const app = appWith({ origin: [APP, 'http://localhost:5173'] })
    const allowed = async (origin: string) =>
      (await app.request('/data', { headers: { origin } })).headers.get(
        'access-control-allow-origin',
      )
    assert.equal(await allowed(APP), APP)
    assert.equal(await allowed('http://localhost:5173'), 'http://localhost:5173')
    assert.equal(await allowed(`${APP}.evil.example`), null)
    assert.equal(await allowed('HTTPS://APP.EXAMPLE'), null)
    assert.equal(await allowed(`${APP}, ${EVIL}`), null)
  })

  test('a RegExp origin is tested against the Origin header, and a repeated Origin header never matches', async () => {
    const app = appWith({ origin: /^https:\/\/[a-z]+\.app\.example$/ })
    const get = (origin: string) => app.request('/data', { headers: { origin } })
    assert.equal(
      (await get('https://eu.app.example')).headers.get('access-control-allow-origin'),
      'https://eu.app.example',
    )
    assert.equal((await get(EVIL)).headers.get('access-control-allow-origin'), null)
    assert.equal(
      (await get('https://eu.app.example, https://us.app.example')).headers.get(
        'access-control-allow-origin',
      ),
      null,
    )
  })

  test('a function origin decides with the origin and the context, sync or async', async () => {
    const seen: string[] = []
    const sync = appWith({
      origin: (origin, ctx) => {
        seen.push(`${ctx.method} ${ctx.path} ${origin}`)
        return origin.endsWith('.app.example')
      },
    })
    const ok = await sync.request('/data', { headers: { origin: 'https://a.app.example' } })
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://a.app.example')
    assert.deepEqual(seen, ['GET /data https://a.app.example'])

    const asyncApp = appWith({
      origin: async (origin) => {
        await new Promise((r) => setImmediate(r))
        return origin === APP
      },
    })
    const yes = await asyncApp.request('/data', { headers: { origin: APP } })
    assert.equal(yes.headers.get('access-control-allow-origin'), APP)
    const no = await asyncApp.request('/data', { headers: { origin: EVIL } })
    assert.equal(no.status, 200)
    assert.deepEqual(corsHeaders(no), {})
  })

  test('a function that throws answers 500 (its failure is not an allow)', async () => {
    const app = appWith({
      origin: () => {
        throw new Error('lookup failed')
      },
    })
    const res = await app.request('/data', { headers: { origin: APP } })
    assert.equal(res.status, 500)
    assert.deepEqual(corsHeaders(res), {})
  })

  test('exposedHeaders are sent on actual answers, not on preflights', async () => {
    const app = appWith({ origin: APP, exposedHeaders: ['x-request-id', 'x-total'] })
    const res = await app.request('/data', { headers: { origin: APP } })
    assert.equal(res.headers.get('access-control-expose-headers'), 'x-request-id, x-total')
    const pre = await preflight(app, '/data', APP)
    assert.equal(pre.headers.get('access-control-expose-headers'), null)
  })

  test('with no origin configured nothing is allowed', async () => {
    const app = appWith({})
    const res = await app.request('/data', { headers: { origin: APP } })
    assert.deepEqual(corsHeaders(res), {})
    const pre = await preflight(app, '/data', APP)
    assert.equal(pre.status, 204)
    assert.deepEqual(corsHeaders(pre), {})
  })
})

describe('preflight', () => {
  test('a preflight on a GET-only route is answered by the middleware with the defaults, the route not run', async () => {
    const runs: string[] = []
    const app = appWith({ origin: APP }, runs)
    const res = await preflight(app, '/only-get', APP, 'PUT', 'content-type,x-custom')
    assert.equal(res.status, 204)
    assert.deepEqual(corsHeaders(res), {
      'access-control-allow-origin': APP,
      'access-control-allow-methods': 'GET, HEAD, POST, PUT, PATCH, DELETE',
      'access-control-allow-headers': 'content-type, x-custom',
      'access-control-max-age': '600',
    })
    assert.equal(res.headers.get('vary'), 'Origin, Access-Control-Request-Headers')
    assert.equal(res.headers.get('allow'), null)
    assert.equal(await res.text(), '')
    assert.deepEqual(runs, [])
  })

  test('a preflight on a path no route has is answered too (app-level middleware wraps the 404)', async () => {
    const res = await preflight(appWith({ origin: APP }), '/nowhere/at/all', APP)
    assert.equal(res.status, 204)
    assert.equal(res.headers.get('access-control-allow-origin'), APP)
  })

  test('OPTIONS without Access-Control-Request-Method is no preflight: the automatic Allow answer, with CORS headers', async () => {
    const res = await appWith({ origin: APP }).request('/data', {
      method: 'OPTIONS',
      headers: { origin: APP },
    })
    assert.equal(res.status, 204)
    assert.equal(res.headers.get('allow'), 'GET, POST, HEAD, OPTIONS')
    assert.equal(res.headers.get('access-control-allow-origin'), APP)
    assert.equal(res.headers.get('access-control-allow-methods'), null)
  })

  test('a disallowed preflight answers 204 with no allow headers', async () => {
    const res = await preflight(appWith({ origin: APP }), '/data', EVIL, 'PUT', 'x-custom')
    assert.equal(res.status, 204)
    assert.deepEqual(corsHeaders(res), {})
    assert.equal(res.headers.get('vary'), 'Origin, Access-Control-Request-Headers')
  })

  test('methods, allowedHeaders, maxAge, preflightStatus and credentials shape the answer', async () => {
    const app = appWith({
      origin: APP,
      credentials: true,
      methods: ['GET', 'POST'],
      allowedHeaders: ['content-type', 'authorization'],
      maxAge: 30,
      preflightStatus: 200,
    })
    const res = await preflight(app, '/data', APP, 'POST', 'x-not-listed')
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-length'), '0')
    assert.deepEqual(corsHeaders(res), {
      'access-control-allow-origin': APP,
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers': 'content-type, authorization',
      'access-control-max-age': '30',
    })
    // A fixed header list does not depend on the request's headers.
    assert.equal(res.headers.get('vary'), 'Origin')
  })

  test("origin '*' preflights vary only on the request headers they reflect", async () => {
    const res = await preflight(appWith({ origin: '*' }), '/data', EVIL, 'POST', 'x-a')
    assert.equal(res.headers.get('access-control-allow-origin'), '*')
    assert.equal(res.headers.get('vary'), 'Access-Control-Request-Headers')
    const fixed = await preflight(
      appWith({ origin: '*', allowedHeaders: ['x-a'] }),
      '/data',
      EVIL,
      'POST',
      'x-a',
    )
    assert.equal(fixed.headers.get('vary'), null)
  })

  test('a preflight asking for no headers gets no Allow-Headers', async () => {
    const res = await preflight(appWith({ origin: APP }), '/data', APP, 'DELETE')
    assert.equal(res.status, 204)
    assert.equal(res.headers.get('access-control-allow-headers'), null)
  })

  test('a malformed, too long or too crowded Access-Control-Request-Headers is refused 400 with a coded error', async () => {
    const app = appWith({ origin: APP })
    const long = `x-${'a'.repeat(MAX_REQUEST_HEADERS_LENGTH)}`
    const crowded = Array.from({ length: MAX_REQUEST_HEADER_NAMES + 1 }, (_, i) => `x-${i}`).join(
      ',',
    )
    for (const bad of ['x-a b', 'x-a,(x-b)', 'x-ä', long, crowded]) {
      const res = await preflight(app, '/data', APP, 'POST', bad)
      assert.equal(res.status, 400, bad.slice(0, 20))
      const body = (await res.json()) as { error: { code: string } }
      assert.equal(body.error.code, 'SWB_ERR_CORS_REQUEST_HEADERS')
    }
  })
})

describe('parseRequestHeaders', () => {
  test('reads a list of names with optional whitespace and empty elements', () => {
    assert.equal(parseRequestHeaders(''), '')
    assert.equal(parseRequestHeaders('content-type'), 'content-type')
    assert.equal(parseRequestHeaders(' x-a ,\tX-B ,, x-c'), 'x-a, X-B, x-c')
    assert.equal(parseRequestHeaders(',,'), '')
  })

  test('refuses separators, controls and non-ASCII, which could not be reflected safely', () => {
    for (const bad of ['x-a x-b', 'x-a;', 'x-a\r\nset-cookie: a=b', 'a:b', 'x-é', '"x"']) {
      assert.equal(parseRequestHeaders(bad), null, JSON.stringify(bad))
    }
  })

  test('stops at the length and count limits, in one pass', () => {
    const names = Array.from({ length: MAX_REQUEST_HEADER_NAMES }, (_, i) => `h${i}`).join(',')
    assert.equal(parseRequestHeaders(names)?.split(', ').length, MAX_REQUEST_HEADER_NAMES)
    assert.equal(parseRequestHeaders(`${names},one-more`), null)
    assert.equal(parseRequestHeaders(','.repeat(MAX_REQUEST_HEADERS_LENGTH)), '')
    assert.equal(parseRequestHeaders(','.repeat(MAX_REQUEST_HEADERS_LENGTH + 1)), null)
    // A 1 MB value is refused by length before any scanning.
    const t = performance.now()
    assert.equal(parseRequestHeaders('a'.repeat(1 << 20)), null)
    assert.ok(performance.now() - t < 50)
  })
})

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
