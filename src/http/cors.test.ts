import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  MAX_REQUEST_HEADER_NAMES,
  MAX_REQUEST_HEADERS_LENGTH,
  parseRequestHeaders,
} from './cors.ts'
import { APP, appWith, corsHeaders, EVIL, preflight } from './test-utils/cors-app.ts'

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
