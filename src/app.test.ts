import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { HttpError, Switchboard } from './index.ts'

function quiet() {
  return new Switchboard({ logger: false })
}

describe('routing', () => {
  test('routes every method, with path parameters and the query', async () => {
    const app = quiet()
    for (const m of ['get', 'post', 'put', 'patch', 'delete'] as const) {
      app[m]('/items/:id', (ctx) => ({ method: ctx.method, id: ctx.params.id, q: ctx.query }))
    }
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
      const res = await app.request('/items/42?sort=asc&sort=desc&x=1', { method })
      assert.equal(res.status, 200)
      assert.deepEqual(await res.json(), { method, id: '42', q: { sort: 'asc', x: '1' } })
    }
  })

  test('decodes percent-encoded parameters and keeps every repeated query value', async () => {
    const app = quiet()
    app.get('/u/:name', (ctx) => ({ name: ctx.params.name, all: ctx.searchParams.getAll('t') }))
    const res = await app.request('/u/caf%C3%A9?t=a&t=b')
    assert.deepEqual(await res.json(), { name: 'café', all: ['a', 'b'] })
  })

  test('matches wildcards and exposes the rest of the path as params["*"]', async () => {
    const app = quiet()
    app.get('/files/*', (ctx) => ctx.text(ctx.params['*'] ?? ''))
    assert.equal(await (await app.request('/files/a/b/c.txt')).text(), 'a/b/c.txt')
  })

  test('all() registers the route for every common method', async () => {
    const app = quiet()
    app.all('/any', (ctx) => ctx.text(ctx.method))
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      assert.equal(await (await app.request('/any', { method })).text(), method)
    }
  })

  test('answers 404 as JSON by default and as HTML when the client prefers it', async () => {
    const app = quiet()
    const json = await app.request('/missing')
    assert.equal(json.status, 404)
    const body = (await json.json()) as { error: { code: string; requestId: string } }
    assert.equal(body.error.code, 'SWB_ERR_NOT_FOUND')
    assert.ok(body.error.requestId)
    const html = await app.request('/missing', {
      headers: { accept: 'text/html,application/xhtml+xml' },
    })
    assert.equal(html.status, 404)
    assert.match(html.headers.get('content-type') ?? '', /text\/html/)
    assert.match(await html.text(), /404 Not Found/)
  })

  test('answers 405 with an Allow header when the path exists for other methods', async () => {
    const app = quiet()
    app.get('/thing', () => 'x')
    app.put('/thing', () => 'y')
    const res = await app.request('/thing', { method: 'DELETE' })
    assert.equal(res.status, 405)
    assert.equal(res.headers.get('allow'), 'GET, PUT, HEAD, OPTIONS')
    assert.equal(
      ((await res.json()) as { error: { code: string } }).error.code,
      'SWB_ERR_METHOD_NOT_ALLOWED',
    )
  })

  test('answers HEAD from the GET route with the headers and no body', async () => {
    const app = quiet()
    app.get('/doc', (ctx) => ctx.header('x-kind', 'doc').json({ big: 'x'.repeat(100) }))
    const res = await app.request('/doc', { method: 'HEAD' })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('x-kind'), 'doc')
    assert.equal(
      res.headers.get('content-length'),
      String(JSON.stringify({ big: 'x'.repeat(100) }).length),
    )
    assert.equal((await res.arrayBuffer()).byteLength, 0)
  })

  test('answers OPTIONS automatically with the allowed methods', async () => {
    const app = quiet()
    app.get('/o', () => 'x')
    app.post('/o', () => 'y')
    const res = await app.request('/o', { method: 'OPTIONS' })
    assert.equal(res.status, 204)
    assert.equal(res.headers.get('allow'), 'GET, POST, HEAD, OPTIONS')
    assert.equal((await app.request('/nothing', { method: 'OPTIONS' })).status, 404)
  })

  test('a handler may return a string, bytes, a value or a Web Response', async () => {
    const app = quiet()
    app.get('/s', () => 'plain')
    app.get('/b', () => new Uint8Array([1, 2, 3]))
    app.get('/v', () => ({ a: 1 }))
    app.get('/r', () => new Response('made', { status: 201, headers: { 'x-made': 'yes' } }))
    const s = await app.request('/s')
    assert.match(s.headers.get('content-type') ?? '', /text\/plain/)
    assert.equal(await s.text(), 'plain')
    assert.deepEqual(
      new Uint8Array(await (await app.request('/b')).arrayBuffer()),
      new Uint8Array([1, 2, 3]),
    )
    assert.deepEqual(await (await app.request('/v')).json(), { a: 1 })
    const r = await app.request('/r')
    assert.equal(r.status, 201)
    assert.equal(r.headers.get('x-made'), 'yes')
    assert.equal(await r.text(), 'made')
  })

  test('a handler that answers nothing gives 204', async () => {
    const app = quiet()
    app.post('/fire', () => {})
    assert.equal((await app.request('/fire', { method: 'POST' })).status, 204)
  })

  test('refuses a route whose handler is not a function or whose path is relative', () => {
    const app = quiet()
    assert.throws(() => app.get('/x', 42 as never), { code: 'SWB_ERR_INVALID_ROUTE' })
    assert.throws(() => app.get('x', () => 1), { code: 'SWB_ERR_INVALID_ROUTE' })
  })
})

describe('middleware and hooks', () => {
  test('runs middleware as an onion: app, then group, then route, then back out', async () => {
    const app = quiet()
    const trace: string[] = []
    const mw = (name: string) => async (_ctx: unknown, next: () => Promise<void>) => {
      trace.push(`${name}>`)
      await next()
      trace.push(`<${name}`)
    }
    app.use(mw('app'))
    const api = app.group('/api')
    api.use(mw('group'))
    api.get('/x', mw('route'), () => {
      trace.push('handler')
      return 'ok'
    })
    assert.equal(await (await app.request('/api/x')).text(), 'ok')
    assert.deepEqual(trace, ['app>', 'group>', 'route>', 'handler', '<route', '<group', '<app'])
  })

  test('middleware added after a route still wraps it', async () => {
    const app = quiet()
    app.get('/late', (ctx) => ctx.text(String(ctx.state.tag)))
    assert.equal(await (await app.request('/late')).text(), 'undefined')
    app.use(async (ctx, next) => {
      ctx.state.tag = 'wrapped'
      await next()
    })
    assert.equal(await (await app.request('/late')).text(), 'wrapped')
  })

  test('middleware can change the response after the handler', async () => {
    const app = quiet()
    app.use(async (ctx, next) => {
      await next()
      ctx.header('x-after', String(ctx.statusCode))
    })
    app.get('/x', (ctx) => ctx.status(201).text('made'))
    const res = await app.request('/x')
    assert.equal(res.headers.get('x-after'), '201')
  })

  test('nested groups join their prefixes and stack their middleware', async () => {
    const app = quiet()
    app.group('/v1', (v1) => {
      v1.use(async (ctx, next) => {
        ctx.state.v = 1
        await next()
      })
      v1.group('/admin', (admin) => {
        admin.get('/users', (ctx) => ({ v: ctx.state.v, path: ctx.path }))
      })
    })
    assert.deepEqual(await (await app.request('/v1/admin/users')).json(), {
      v: 1,
      path: '/v1/admin/users',
    })
  })

  test('pre hooks run before the handler and may answer; post hooks run after', async () => {
    const app = quiet()
    const order: string[] = []
    app.get(
      '/guarded',
      {
        pre: [
          (ctx) => {
            order.push('pre')
            if (ctx.query.deny) ctx.status(403).json({ denied: true })
          },
        ],
        post: [
          (ctx) => {
            order.push('post')
            ctx.header('x-post', 'ran')
          },
        ],
      },
      () => {
        order.push('handler')
        return { ok: true }
      },
    )
    const ok = await app.request('/guarded')
    assert.deepEqual(await ok.json(), { ok: true })
    assert.equal(ok.headers.get('x-post'), 'ran')
    assert.deepEqual(order, ['pre', 'handler', 'post'])
    order.length = 0
    const denied = await app.request('/guarded?deny=1')
    assert.equal(denied.status, 403)
    assert.deepEqual(order, ['pre', 'post'])
  })

  test('onRequest runs before routing and may answer on its own', async () => {
    const app = quiet()
    app.onRequest((ctx) => {
      if (ctx.headers['x-block']) ctx.status(429).json({ slow: 'down' })
    })
    app.get('/x', () => 'through')
    assert.equal(await (await app.request('/x')).text(), 'through')
    assert.equal((await app.request('/x', { headers: { 'x-block': '1' } })).status, 429)
  })

  test('onResponse runs after the response with the final status', async () => {
    const app = quiet()
    const seen: number[] = []
    app.onResponse((ctx) => seen.push(ctx.res.statusCode))
    app.get('/x', () => 'x')
    await app.request('/x')
    await app.request('/nope')
    assert.deepEqual(seen, [200, 404])
  })
})

describe('errors', () => {
  test('an unhandled error becomes a 500 with a request id and no stack or message', async () => {
    const app = quiet()
    app.get('/boom', () => {
      throw new Error('database password is hunter2')
    })
    const res = await app.request('/boom')
    assert.equal(res.status, 500)
    const text = await res.text()
    assert.doesNotMatch(text, /hunter2|at .*\.ts/)
    const body = JSON.parse(text) as { error: { code: string; requestId: string; stack?: string } }
    assert.equal(body.error.code, 'SWB_ERR_INTERNAL')
    assert.equal(body.error.stack, undefined)
    assert.equal(res.headers.get('x-request-id'), body.error.requestId)
  })

  test('dev mode adds the stack to error responses', async () => {
    const app = new Switchboard({ logger: false, dev: true })
    app.get('/boom', async () => {
      throw new Error('kaput')
    })
    const body = (await (await app.request('/boom')).json()) as { error: { stack: string } }
    assert.match(body.error.stack, /kaput/)
  })

  test('an HttpError answers with its status, code, message and headers', async () => {
    const app = quiet()
    app.get('/teapot', () => {
      throw new HttpError(418, 'short and stout', {
        code: 'APP_ERR_TEA',
        headers: { 'x-brew': 'earl grey' },
      })
    })
    const res = await app.request('/teapot')
    assert.equal(res.status, 418)
    assert.equal(res.headers.get('x-brew'), 'earl grey')
    assert.deepEqual(((await res.json()) as { error: object }).error, {
      code: 'APP_ERR_TEA',
      message: 'short and stout',
      requestId: res.headers.get('x-request-id'),
    })
  })

  test('details of an exposed error reach the body; a hidden 500 keeps them back', async () => {
    const app = quiet()
    app.get('/taken', () => {
      throw new HttpError(409, 'Name taken', { code: 'APP_ERR_TAKEN', details: { name: 'ada' } })
    })
    app.get('/hidden', () => {
      throw new HttpError(503, 'pool exhausted', { details: { pool: 'db-main' } })
    })
    const taken = (await (await app.request('/taken')).json()) as { error: { details?: object } }
    assert.deepEqual(taken.error.details, { name: 'ada' })
    const hidden = await app.request('/hidden')
    assert.equal(hidden.status, 503)
    assert.doesNotMatch(await hidden.text(), /db-main|pool exhausted/)
  })

  test('an error thrown by middleware reaches the error handler', async () => {
    const app = quiet()
    app.use(() => {
      throw new HttpError(401, 'who are you')
    })
    app.get('/x', () => 'never')
    assert.equal((await app.request('/x')).status, 401)
  })

  test('onError sees the error and may answer in its place', async () => {
    const app = quiet()
    const seen: unknown[] = []
    app.onError((err, ctx) => {
      seen.push(err)
      if (ctx.path === '/custom') ctx.status(503).text('try later')
    })
    app.get('/custom', () => {
      throw new Error('x')
    })
    app.get('/default', () => {
      throw new Error('y')
    })
    const custom = await app.request('/custom')
    assert.equal(custom.status, 503)
    assert.equal(await custom.text(), 'try later')
    assert.equal((await app.request('/default')).status, 500)
    assert.equal(seen.length, 2)
  })

  test('with trustRequestId, keeps a well-formed incoming x-request-id and replaces a malformed one', async () => {
    const app = new Switchboard({ logger: false, trustRequestId: true })
    app.get('/id', (ctx) => ctx.text(ctx.requestId))
    assert.equal(
      await (await app.request('/id', { headers: { 'x-request-id': 'abc-123' } })).text(),
      'abc-123',
    )
    const generated = await (
      await app.request('/id', { headers: { 'x-request-id': 'bad id\twith spaces' } })
    ).text()
    assert.notEqual(generated, 'bad id\twith spaces')
    assert.match(generated, /^[0-9a-f]{8}-[0-9a-z]+$/)
  })
})

describe('options', () => {
  test('rejects invalid options with a message that names the option', () => {
    assert.throws(() => new Switchboard({ bodyLimit: -1 }), /Option "bodyLimit"/)
    assert.throws(() => new Switchboard({ port: 70000 }), /Option "port"/)
    assert.throws(() => new Switchboard({ nodelay: true } as never), /Option "nodelay"/)
    assert.throws(
      () => new Switchboard({ headersTimeout: 10_000, requestTimeout: 5_000 }),
      /headersTimeout/,
    )
  })

  test('freezes the resolved options with their documented defaults', () => {
    const app = quiet()
    assert.ok(Object.isFrozen(app.settings))
    assert.equal(app.settings.bodyLimit, 1024 * 1024)
    assert.equal(app.settings.host, '127.0.0.1')
    assert.equal(app.settings.noDelay, true)
  })
})
