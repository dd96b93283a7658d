import assert from 'node:assert/strict'
import { createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, test } from 'node:test'
import { Switchboard } from '../index.ts'
import { rawRequest, statusOf } from '../test-utils/raw-http.ts'

describe('serving', () => {
  test('listen() on port 0 resolves with the bound address', async () => {
    const app = new Switchboard({ logger: false })
    app.get('/', () => 'up')
    const addr = await app.listen({ port: 0 })
    try {
      assert.ok(addr.port > 0)
      assert.equal(addr.url, `http://127.0.0.1:${addr.port}`)
      assert.deepEqual(app.address(), addr)
      assert.equal(await (await fetch(addr.url)).text(), 'up')
      await assert.rejects(app.listen({ port: 0 }), { code: 'SWB_ERR_ALREADY_LISTENING' })
    } finally {
      await app.close()
    }
  })

  test('a second app on a taken port rejects listen() with EADDRINUSE', async () => {
    const a = new Switchboard({ logger: false })
    const { port } = await a.listen({ port: 0 })
    const b = new Switchboard({ logger: false })
    await assert.rejects(b.listen({ port }), { code: 'EADDRINUSE' })
    await a.close()
  })

  test('answers 431 when the request head is larger than maxHeaderSize', async () => {
    const app = new Switchboard({ logger: false, maxHeaderSize: 2048 })
    app.get('/', () => 'x')
    const { port } = await app.listen({ port: 0 })
    try {
      const out = await rawRequest(
        port,
        `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(4096)}\r\n\r\n`,
      )
      assert.equal(statusOf(out), 431)
    } finally {
      await app.close()
    }
  })

  test('attach() serves Switchboard routes beside a plain node:http handler on one port', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end('from the other framework')
    })
    const app = new Switchboard({ logger: false })
    app.get('/sb/hello', () => 'from switchboard')
    app.attach(server)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as AddressInfo
    try {
      assert.equal(
        await (await fetch(`http://127.0.0.1:${port}/sb/hello`)).text(),
        'from switchboard',
      )
      assert.equal(
        await (await fetch(`http://127.0.0.1:${port}/legacy/page`)).text(),
        'from the other framework',
      )
      // A path Switchboard knows for another method stays Switchboard's (405), not the fallback's.
      assert.equal(
        (await fetch(`http://127.0.0.1:${port}/sb/hello`, { method: 'POST' })).status,
        405,
      )
      assert.throws(() => app.attach(server), { code: 'SWB_ERR_ALREADY_LISTENING' })
      await app.close()
      // Once closed, the server is handed back to its own handler.
      assert.equal(
        await (await fetch(`http://127.0.0.1:${port}/sb/hello`)).text(),
        'from the other framework',
      )
    } finally {
      await new Promise<void>((r) => server.close(() => r()))
    }
  })

  test('app.handle works as a node:http request listener', async () => {
    const app = new Switchboard({ logger: false })
    app.get('/direct', () => 'direct')
    const server = createServer(app.handle)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as AddressInfo
    try {
      assert.equal(await (await fetch(`http://127.0.0.1:${port}/direct`)).text(), 'direct')
    } finally {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    }
  })
})

describe('graceful close', () => {
  test('lets an in-flight request finish, refuses new connections, then runs onClose', async () => {
    const app = new Switchboard({ logger: false })
    let release!: () => void
    const started = new Promise<void>((r) => {
      app.get('/slow', async () => {
        r()
        await new Promise<void>((done) => {
          release = done
        })
        return 'finished'
      })
    })
    const events: string[] = []
    app.onClose(() => {
      events.push('onClose')
    })
    const { port, url } = await app.listen({ port: 0 })
    const inflight = fetch(`${url}/slow`).then(async (r) => {
      return { status: r.status, text: await r.text(), connection: r.headers.get('connection') }
    })
    await started
    const closed = app.close({ graceful: 2000 }).then(() => events.push('closed'))
    await new Promise((r) => setTimeout(r, 50))
    // New connections are refused while draining.
    await assert.rejects(
      new Promise((resolve, reject) => {
        const req = httpRequest({ port, host: '127.0.0.1', path: '/slow', agent: false }, resolve)
        req.on('error', reject)
        req.end()
      }),
    )
    assert.equal(events.length, 0, 'close() must wait for the in-flight request')
    events.push('released')
    release()
    const done = await inflight
    assert.deepEqual(done, { status: 200, text: 'finished', connection: 'close' })
    await closed
    assert.deepEqual(events, ['released', 'onClose', 'closed'])
  })

  test('cuts requests that outlive the graceful period', async () => {
    const app = new Switchboard({ logger: false })
    let started!: () => void
    const running = new Promise<void>((r) => {
      started = r
    })
    app.get('/forever', () => {
      started()
      return new Promise(() => {})
    })
    const { url } = await app.listen({ port: 0 })
    const pending = fetch(`${url}/forever`).then(
      () => 'answered',
      () => 'cut',
    )
    await running
    const t0 = performance.now()
    await app.close({ graceful: 200 })
    const took = performance.now() - t0
    assert.equal(await pending, 'cut')
    assert.ok(took >= 150 && took < 1500, `close took ${took} ms`)
  })

  test('answers 503 with Connection: close to a request on a kept-alive socket during the drain', async () => {
    const app = new Switchboard({ logger: false })
    app.get('/x', () => 'x')
    const ctxs: string[] = []
    app.onResponse((ctx) => ctxs.push(String(ctx.res.statusCode)))
    // Simulate the drain on an in-process request, where no socket is involved.
    const closing = app.close({ graceful: 10 })
    const res = await app.request('/x')
    await closing
    assert.equal(res.status, 503)
    assert.equal(
      ((await res.json()) as { error: { code: string } }).error.code,
      'SWB_ERR_SERVER_CLOSING',
    )
  })
})
