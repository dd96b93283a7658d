import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { describe, test } from 'node:test'
import { Switchboard } from '../index.ts'

function appWithLimit(bodyLimit = 16) {
  const app = new Switchboard({ logger: false, bodyLimit })
  app.post('/json', async (ctx) => ctx.json({ got: await ctx.readJson() }))
  app.post('/text', async (ctx) => ctx.text(await ctx.readText()))
  app.post('/bytes', async (ctx) => ctx.json({ length: (await ctx.readBytes()).length }))
  app.post('/form', async (ctx) => {
    const form = await ctx.readForm()
    return Object.fromEntries([...form.keys()].map((k) => [k, form.getAll(k).map(String)]))
  })
  return app
}

const json = { 'content-type': 'application/json' }

describe('request bodies', () => {
  test('accepts a body of exactly the limit and refuses limit + 1 byte with 413', async () => {
    const app = appWithLimit(16)
    const atLimit = await app.request('/bytes', { method: 'POST', body: 'x'.repeat(16) })
    assert.equal(atLimit.status, 200)
    assert.deepEqual(await atLimit.json(), { length: 16 })
    const over = await app.request('/bytes', { method: 'POST', body: 'x'.repeat(17) })
    assert.equal(over.status, 413)
    assert.equal(
      ((await over.json()) as { error: { code: string } }).error.code,
      'SWB_ERR_BODY_TOO_LARGE',
    )
  })

  test('refuses a chunked body without Content-Length once it passes the limit', async () => {
    const app = appWithLimit(16)
    const { url } = await app.listen({ port: 0 })
    try {
      const ok = await fetch(`${url}/bytes`, {
        method: 'POST',
        body: Readable.toWeb(Readable.from([Buffer.alloc(8), Buffer.alloc(8)])) as ReadableStream,
        duplex: 'half',
      } as RequestInit)
      assert.equal(ok.status, 200)
      const res = await fetch(`${url}/bytes`, {
        method: 'POST',
        body: Readable.toWeb(Readable.from([Buffer.alloc(10), Buffer.alloc(10)])) as ReadableStream,
        duplex: 'half',
      } as RequestInit).catch((err: Error) => err)
      // The server answers 413 and closes; depending on timing the client sees the 413 or a reset.
      if (res instanceof Response) assert.equal(res.status, 413)
    } finally {
      await app.close({ graceful: 100 })
    }
  })

  test('a per-route bodyLimit overrides the app default', async () => {
    const app = new Switchboard({ logger: false, bodyLimit: 4 })
    app.post('/big', { bodyLimit: 100 }, async (ctx) =>
      ctx.json({ n: (await ctx.readBytes()).length }),
    )
    assert.equal((await app.request('/big', { method: 'POST', body: 'x'.repeat(50) })).status, 200)
  })

  test('parses JSON, and answers malformed JSON with 400 SWB_ERR_INVALID_JSON', async () => {
    const app = appWithLimit(1024)
    const ok = await app.request('/json', { method: 'POST', headers: json, body: '{"a":[1,2]}' })
    assert.deepEqual(await ok.json(), { got: { a: [1, 2] } })
    const bad = await app.request('/json', { method: 'POST', headers: json, body: '{"a":' })
    assert.equal(bad.status, 400)
    assert.equal(
      ((await bad.json()) as { error: { code: string } }).error.code,
      'SWB_ERR_INVALID_JSON',
    )
  })

  test('accepts +json media types and refuses other content types with 415', async () => {
    const app = appWithLimit(1024)
    const vendor = await app.request('/json', {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.api+json; charset=utf-8' },
      body: '1',
    })
    assert.equal(vendor.status, 200)
    const wrong = await app.request('/json', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '1',
    })
    assert.equal(wrong.status, 415)
    assert.equal(
      ((await wrong.json()) as { error: { code: string } }).error.code,
      'SWB_ERR_UNSUPPORTED_MEDIA_TYPE',
    )
    const none = await app.request('/json', { method: 'POST', body: '1' })
    assert.equal(none.status, 415)
  })

  test('reads text in the declared charset and refuses an unknown charset with 415', async () => {
    const app = appWithLimit(1024)
    const latin1 = await app.request('/text', {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=iso-8859-1' },
      body: new Uint8Array([0x63, 0x61, 0x66, 0xe9]),
    })
    assert.equal(await latin1.text(), 'café')
    const unknown = await app.request('/text', {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=klingon' },
      body: 'x',
    })
    assert.equal(unknown.status, 415)
  })

  test('reads urlencoded and multipart forms', async () => {
    const app = appWithLimit(4096)
    const enc = await app.request('/form', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1&a=2&b=x+y',
    })
    assert.deepEqual(await enc.json(), { a: ['1', '2'], b: ['x y'] })
    const fd = new FormData()
    fd.append('name', 'ada')
    fd.append('file', new Blob(['hello']), 'h.txt')
    const multi = await app.request(new Request('http://x/form', { method: 'POST', body: fd }))
    const body = (await multi.json()) as Record<string, string[]>
    assert.deepEqual(body.name, ['ada'])
    assert.equal(body.file?.length, 1)
    const broken = await app.request('/form', {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=zzz' },
      body: '--zzz\r\nnot a part',
    })
    assert.equal(broken.status, 400)
    assert.equal(
      ((await broken.json()) as { error: { code: string } }).error.code,
      'SWB_ERR_INVALID_FORM',
    )
  })

  test('reading the body twice with different readers returns the same bytes', async () => {
    const app = new Switchboard({ logger: false })
    app.post('/twice', async (ctx) => ({ text: await ctx.readText(), json: await ctx.readJson() }))
    const res = await app.request('/twice', { method: 'POST', headers: json, body: '{"k":1}' })
    assert.deepEqual(await res.json(), { text: '{"k":1}', json: { k: 1 } })
  })
})

describe('request values', () => {
  test('parses cookies and sets them with safe defaults', async () => {
    const app = new Switchboard({ logger: false })
    app.get('/c', (ctx) =>
      ctx
        .setCookie('session', 'abc', { httpOnly: true })
        .setCookie('theme', 'dark')
        .json(ctx.cookies),
    )
    const res = await app.request('/c', { headers: { cookie: 'a=1; b=two%20words' } })
    assert.deepEqual(await res.json(), { a: '1', b: 'two words' })
    assert.deepEqual(res.headers.getSetCookie(), [
      'session=abc; Path=/; HttpOnly',
      'theme=dark; Path=/',
    ])
  })

  test('reports the socket peer as the client IP unless proxies are trusted', async () => {
    const headers = { 'x-forwarded-for': '203.0.113.9, 10.0.0.2' }
    const plain = new Switchboard({ logger: false })
    plain.get('/ip', (ctx) => ctx.text(ctx.ip))
    assert.equal(
      await (await plain.request('/ip', { headers, remoteAddress: '10.0.0.1' })).text(),
      '10.0.0.1',
    )

    const all = new Switchboard({ logger: false, trustProxy: true })
    all.get('/ip', (ctx) => ctx.text(ctx.ip))
    assert.equal(
      await (await all.request('/ip', { headers, remoteAddress: '10.0.0.1' })).text(),
      '203.0.113.9',
    )

    const oneHop = new Switchboard({ logger: false, trustProxy: 1 })
    oneHop.get('/ip', (ctx) => ctx.text(ctx.ip))
    assert.equal(
      await (await oneHop.request('/ip', { headers, remoteAddress: '10.0.0.1' })).text(),
      '10.0.0.2',
    )

    const subnet = new Switchboard({ logger: false, trustProxy: ['10.0.0.0/8'] })
    subnet.get('/ip', (ctx) => ctx.text(ctx.ip))
    assert.equal(
      await (await subnet.request('/ip', { headers, remoteAddress: '10.0.0.1' })).text(),
      '203.0.113.9',
    )
    assert.equal(
      await (await subnet.request('/ip', { headers, remoteAddress: '192.0.2.1' })).text(),
      '192.0.2.1',
    )
  })

  test('builds a Web Request only for handlers that ask, with method, headers and body', async () => {
    const app = new Switchboard({ logger: false })
    app.post('/web', async (ctx) => {
      const req = ctx.toRequest()
      assert.equal(ctx.toRequest(), req)
      return {
        method: req.method,
        url: req.url,
        type: req.headers.get('content-type'),
        body: await req.text(),
      }
    })
    const res = await app.request('/web?x=1', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', host: 'example.test' },
      body: 'hi',
    })
    assert.deepEqual(await res.json(), {
      method: 'POST',
      url: 'http://example.test/web?x=1',
      type: 'text/plain',
      body: 'hi',
    })
  })
})

describe('response helpers', () => {
  test('status, header, html, text and redirect', async () => {
    const app = new Switchboard({ logger: false })
    app.get('/h', (ctx) => ctx.status(202).header('x-a', 'b').html('<p>hi</p>'))
    app.get('/r', (ctx) => ctx.redirect('/elsewhere', 301))
    const h = await app.request('/h')
    assert.equal(h.status, 202)
    assert.equal(h.headers.get('x-a'), 'b')
    assert.equal(h.headers.get('content-type'), 'text/html; charset=utf-8')
    const r = await app.request('/r')
    assert.equal(r.status, 301)
    assert.equal(r.headers.get('location'), '/elsewhere')
  })

  test('streams an async iterable as the body', async () => {
    const app = new Switchboard({ logger: false })
    app.get('/s', (ctx) =>
      ctx.stream(
        (async function* () {
          yield 'a'
          yield new TextEncoder().encode('b')
          yield 'c'
        })(),
        'text/plain',
      ),
    )
    assert.equal(await (await app.request('/s')).text(), 'abc')
  })

  test('streams a Web ReadableStream as the body', async () => {
    const app = new Switchboard({ logger: false })
    app.get('/w', (ctx) => ctx.stream(new Blob(['web stream']).stream(), 'text/plain'))
    assert.equal(await (await app.request('/w')).text(), 'web stream')
  })
})
