import assert from 'node:assert/strict'
import type { Socket } from 'node:net'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { waitFor as until } from '../test-utils/wait.ts'
import { broadcast, createSseStream } from './create.ts'
import { prepareEvent } from './encode.ts'
import { HeartbeatRegistry } from './heartbeat.ts'
import type { SseItem, SseStream } from './stream.ts'
import { open, rawClient, serve, stop } from './test-utils/stream-support.ts'

test('the head carries the SSE headers, keep-alive on HTTP/1.1, and no length or chunking', async () => {
  const hb = new HeartbeatRegistry()
  const { server, client, stream } = await open({ heartbeat: hb, retry: 1500, padding: 64 })
  stream.send({ data: 'hi' })
  await until(() => client.text().includes('data: hi\n\n'))
  const [head, body] = client.text().split('\r\n\r\n') as [string, string]
  const lines = head.toLowerCase().split('\r\n')
  assert.equal(lines[0], 'http/1.1 200 ok')
  assert.ok(lines.includes('content-type: text/event-stream; charset=utf-8'))
  assert.ok(lines.includes('cache-control: no-cache, no-transform'))
  assert.ok(lines.includes('x-accel-buffering: no'))
  assert.ok(lines.includes('connection: keep-alive'))
  assert.ok(!head.toLowerCase().includes('content-length'))
  assert.ok(!head.toLowerCase().includes('transfer-encoding'))
  assert.ok(!head.toLowerCase().includes('content-encoding'))
  assert.equal(body, `:${' '.repeat(62)}\nretry: 1500\n\ndata: hi\n\n`)
  stream.close()
  await stop(server)
})

test('an HTTP/1.0 request gets no keep-alive header', async () => {
  const hb = new HeartbeatRegistry()
  const { server, client, stream } = await open({ heartbeat: hb }, 'GET /e HTTP/1.0\r\n\r\n')
  assert.ok(!client.text().toLowerCase().includes('connection: keep-alive'))
  stream.close()
  await stop(server)
})

test('the head goes out in the same turn the stream is opened, before any event', async () => {
  const hb = new HeartbeatRegistry()
  const { server, client, stream } = await open({ heartbeat: hb })
  assert.ok(stream.headersSent)
  assert.match(client.text(), /^HTTP\/1\.1 200 OK\r\n/)
  stream.close()
  await stop(server)
})

test('sends within one turn are coalesced into one socket write', async () => {
  const hb = new HeartbeatRegistry()
  const { server, client, stream, serverSocket } = await open({ heartbeat: hb })
  // Count what reaches the socket's handle: one _write or one _writev each.
  let writes = 0
  const sock = serverSocket as unknown as Record<'_write' | '_writev', (...a: unknown[]) => void>
  for (const name of ['_write', '_writev'] as const) {
    const original = sock[name]
    sock[name] = function (this: unknown, ...args: unknown[]) {
      writes++
      return original.apply(this, args)
    }
  }
  for (let i = 0; i < 50; i++) stream.send({ id: i, data: `n${i}` })
  stream.sendPrepared(prepareEvent({ data: 'p' }))
  await until(() => client.text().includes('data: p\n\n'))
  assert.equal(writes, 1)
  assert.equal(client.text().match(/data: n\d+\n\n/g)?.length, 50)
  stream.close()
  await stop(server)
})

test('writeEncoded takes text or UTF-8 bytes and writes both unchanged, in order', async () => {
  const { server, client, stream } = await open()
  stream.writeEncoded('data: text ✓\n\n')
  stream.writeEncoded(Buffer.from('data: bytes ✓\n\n'))
  stream.writeEncoded(new TextEncoder().encode('data: u8 𝄞\n\n'))
  await until(() => client.text().includes('data: u8 𝄞\n\n'))
  const body = client.text().slice(client.text().indexOf('\r\n\r\n') + 4)
  assert.equal(body, 'data: text ✓\n\ndata: bytes ✓\n\ndata: u8 𝄞\n\n')
  stream.close()
  await stop(server)
})

test('headers chosen before the stream opened are kept, ours win', async () => {
  const hb = new HeartbeatRegistry()
  let stream: SseStream | undefined
  const { server, port } = await serve((req, res) => {
    res.setHeader('x-request-id', 'abc')
    res.setHeader('content-type', 'text/plain')
    stream = createSseStream(
      req,
      res,
      { heartbeat: hb },
      {
        headers: { 'access-control-allow-origin': '*', 'set-cookie': ['a=1', 'b=2'] },
      },
    )
  })
  const client = rawClient(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
  await until(() => client.text().includes('\r\n\r\n'))
  const head = client.text().toLowerCase()
  assert.ok(head.includes('x-request-id: abc\r\n'))
  assert.ok(head.includes('access-control-allow-origin: *\r\n'))
  assert.ok(head.includes('set-cookie: a=1\r\nset-cookie: b=2\r\n'))
  assert.ok(!head.includes('text/plain'))
  stream!.close()
  await stop(server)
})

for (const how of ['a clean close', 'a TCP reset'] as const) {
  test(`a handler loop stops within 1 s of the client leaving by ${how}, leaving nothing behind`, async () => {
    const hb = new HeartbeatRegistry({ interval: 1000 })
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
    let stopped = 0
    let iterations = 0
    let closeListenersBefore = -1
    const { server, client, stream, serverSocket } = await open(
      { heartbeat: hb },
      undefined,
      (s) => {
        void (async () => {
          while (!s.signal.aborted && iterations < 10_000) {
            iterations++
            s.send({ data: `tick ${iterations}` })
            await sleep(10)
          }
          stopped = Date.now()
        })()
      },
    )
    closeListenersBefore = serverSocket.listenerCount('close')
    assert.equal(hb.size, 1)
    assert.ok(hb.armed)
    await until(() => client.text().includes('tick 3'))
    const left = Date.now()
    if (how === 'a clean close') client.socket.end()
    else client.socket.resetAndDestroy()
    await until(() => stopped !== 0, 1000)
    assert.ok(stopped - left < 1000, `stopped after ${stopped - left} ms`)
    assert.ok(stream.isClosed)
    assert.equal(stream.closeReason, how === 'a clean close' ? 'client' : 'error')
    // Registered after the client left: still resolves, and the signal is already aborted.
    await stream.closed
    assert.ok(stream.signal.aborted)
    // Nothing left: no registry entry, no shared timer, no listener of ours on the socket.
    assert.equal(hb.size, 0)
    assert.equal(hb.armed, false)
    assert.equal(serverSocket.listenerCount('close'), closeListenersBefore - 1)
    await until(() => serverSocket.destroyed)
    await stop(server)
    const timersAfter = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
    assert.equal(timersAfter, timersBefore)
  })
}

test('one shared timer serves every stream, and only idle streams get a heartbeat', async () => {
  const hb = new HeartbeatRegistry({ interval: 60_000 })
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
  const before = timers()
  const streams: SseStream[] = []
  const { server, port } = await serve((req, res) => {
    streams.push(createSseStream(req, res, { heartbeat: hb }))
  })
  const clients = Array.from({ length: 20 }, () =>
    rawClient(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
  )
  await until(() => streams.length === 20 && clients.every((c) => c.text().includes('\r\n\r\n')))
  assert.equal(hb.size, 20)
  assert.equal(timers(), before + 1)
  hb.tick() // every stream wrote its head since the last tick: no heartbeat yet
  streams[0]!.send({ data: 'busy' })
  await sleep(20)
  hb.tick()
  await until(() => clients[1]!.text().endsWith('\r\n\r\n:\n'))
  assert.ok(clients[0]!.text().endsWith('data: busy\n\n'))
  for (const s of streams) s.close()
  assert.equal(hb.size, 0)
  assert.equal(timers(), before)
  await stop(server)
})

test('a client that never reads keeps buffered bytes under the mark; drop counts', async () => {
  const hwm = 64 * 1024
  const hb = new HeartbeatRegistry()
  const { server, client, stream } = await open({
    heartbeat: hb,
    highWaterMark: hwm,
    policy: 'drop',
  })
  client.socket.pause()
  const ev = prepareEvent({ data: 'x'.repeat(1000) })
  let maxBuffered = 0
  for (let turn = 0; turn < 4000 && stream.dropped === 0; turn++) {
    for (let i = 0; i < 60; i++) stream.sendPrepared(ev)
    maxBuffered = Math.max(maxBuffered, stream.bufferedBytes)
    await new Promise((r) => setImmediate(r))
    maxBuffered = Math.max(maxBuffered, stream.bufferedBytes)
  }
  assert.ok(stream.dropped > 0, `the kernel buffers filled; ${stream.closeReason}`)
  assert.ok(maxBuffered <= hwm, `buffered ${maxBuffered} > ${hwm}`)
  assert.equal(stream.closeReason, null)
  assert.equal(stream.sendPrepared(ev), false)
  const t0 = Date.now()
  stream.close() // the client reads nothing, so our FIN cannot leave: destroyed after a grace
  await stop(server)
  assert.ok(Date.now() - t0 < 4000, `server closed after ${Date.now() - t0} ms`)
})

test("the 'close' policy ends a stream whose client never reads", async () => {
  const hb = new HeartbeatRegistry()
  const { server, client, stream } = await open({ heartbeat: hb, highWaterMark: 8192 })
  client.socket.pause()
  const ev = prepareEvent({ data: 'y'.repeat(1000) })
  for (let turn = 0; turn < 4000 && !stream.isClosed; turn++) {
    for (let i = 0; i < 64; i++) stream.sendPrepared(ev)
    assert.ok(stream.bufferedBytes <= 8192)
    await new Promise((r) => setImmediate(r))
  }
  assert.equal(stream.closeReason, 'backpressure')
  assert.equal(hb.size, 0)
  await stop(server)
})

test('noContent answers 204 in the opening turn and throws once the head is out', async () => {
  const hb = new HeartbeatRegistry()
  let late: unknown
  const { server, port } = await serve((req, res) => {
    const s = createSseStream(req, res, { heartbeat: hb })
    if (req.url === '/gone') s.noContent()
    else
      setTimeout(() => {
        try {
          s.noContent()
        } catch (err) {
          late = err
        }
        s.close()
      }, 20)
  })
  const gone = await fetch(`http://127.0.0.1:${port}/gone`)
  assert.equal(gone.status, 204)
  const open = rawClient(port, 'GET /open HTTP/1.1\r\nHost: x\r\n\r\n')
  await until(() => late !== undefined)
  assert.equal((late as { code: string }).code, 'SWB_ERR_SSE_HEADERS_SENT')
  await until(() => open.socket.readableEnded)
  assert.equal(hb.size, 0)
  await stop(server)
})

test('Last-Event-ID comes from the header (UTF-8) or the lastEventId query parameter', async () => {
  const hb = new HeartbeatRegistry()
  const seen: (string | undefined)[] = []
  const errors: string[] = []
  const { server, port } = await serve((req, res) => {
    try {
      const s = createSseStream(req, res, { heartbeat: hb, maxLastEventIdLength: 16 })
      seen.push(s.lastEventId)
      s.close()
    } catch (err) {
      errors.push((err as { code: string }).code)
      res.statusCode = (err as { status: number }).status
      res.end()
    }
  })
  const get = async (path: string, headers?: Record<string, string>) =>
    (await fetch(`http://127.0.0.1:${port}${path}`, { headers })).status
  const rawId = (value: string) =>
    new Promise<void>((resolve) => {
      const c = rawClient(port, `GET / HTTP/1.1\r\nHost: x\r\nLast-Event-ID: ${value}\r\n\r\n`)
      c.socket.on('close', () => resolve())
      c.socket.on('data', () => c.socket.end())
    })
  assert.equal(await get('/', { 'last-event-id': '42' }), 200)
  assert.equal(await get('/?lastEventId=7%3A9'), 200)
  assert.equal(await get('/?lastEventId=1', { 'last-event-id': '2' }), 200)
  assert.equal(await get('/'), 200)
  await rawId(Buffer.from('é😀', 'utf8').toString('latin1'))
  // Not UTF-8: taken as Latin-1, as the `eventsource` package sends U+0080-U+00FF.
  await rawId('\xfc')
  assert.deepEqual(seen, ['42', '7:9', '2', undefined, 'é😀', 'ü'])
  assert.equal(await get('/', { 'last-event-id': 'x'.repeat(17) }), 400)
  assert.equal(await get('/?lastEventId=a&lastEventId=b'), 400)
  assert.equal(await get('/?lastEventId=a%00b'), 400)
  assert.equal(await get('/?lastEventId=a%0Ab'), 400)
  await new Promise<void>((resolve) => {
    const c = rawClient(
      port,
      'GET / HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 1\r\nLast-Event-ID: 2\r\n\r\n',
    )
    c.socket.on('close', () => resolve())
    c.socket.on('data', () => c.socket.end())
  })
  assert.equal(errors.length, 5)
  assert.ok(errors.every((c) => c === 'SWB_ERR_SSE_INVALID_LAST_EVENT_ID'))
  await stop(server)
})

test('pipe sends an async iterable, stops waiting when the client leaves, and calls return()', async () => {
  const hb = new HeartbeatRegistry()
  let returned = false
  let piped: Promise<void> | undefined
  const items = [{ data: 'one' }, prepareEvent({ data: 'two' })]
  // A source whose third next() never settles (a feed with nothing new), with a return().
  const source: AsyncIterable<SseItem> = {
    [Symbol.asyncIterator]: () => ({
      next: () =>
        items.length > 0
          ? Promise.resolve({ done: false as const, value: items.shift()! })
          : new Promise<never>(() => {}),
      return: async () => {
        returned = true
        return { done: true as const, value: undefined }
      },
    }),
  }
  const { server, client, stream } = await open({ heartbeat: hb }, undefined, (s) => {
    piped = s.pipe(source)
  })
  await until(() => client.text().includes('data: two\n\n'))
  const left = Date.now()
  client.socket.destroy()
  await piped
  assert.ok(Date.now() - left < 1000)
  assert.ok(stream.isClosed)
  assert.equal(returned, true)
  await stop(server)
})

test('pipe closes the stream when a finite source ends', async () => {
  const hb = new HeartbeatRegistry()
  const { server, client } = await open({ heartbeat: hb }, undefined, (s) => {
    void s.pipe([{ data: 'a' }, { event: 'b', data: 'b' }])
  })
  await until(() => client.socket.readableEnded)
  assert.ok(client.text().endsWith('data: a\n\nevent: b\ndata: b\n\n'))
  assert.equal(hb.size, 0)
  await stop(server)
})

test('broadcast writes one prepared event to many streams, the same bytes each', async () => {
  const hb = new HeartbeatRegistry()
  const streams: SseStream[] = []
  const { server, port } = await serve((req, res) => {
    streams.push(createSseStream(req, res, { heartbeat: hb }))
  })
  const clients = Array.from({ length: 10 }, () =>
    rawClient(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
  )
  await until(() => streams.length === 10)
  assert.equal(broadcast(streams, { event: 'news', data: 'x' }), 10)
  await until(() => clients.every((c) => c.text().endsWith('event: news\ndata: x\n\n')))
  for (const s of streams) s.close()
  await stop(server)
})

test('close() from the server ends the connection after pending events', async () => {
  const hb = new HeartbeatRegistry()
  const { server, client, stream } = await open({ heartbeat: hb })
  stream.send({ data: 'last' })
  stream.close()
  assert.equal(stream.send({ data: 'after' }), false)
  await until(() => client.socket.readableEnded)
  assert.ok(client.text().endsWith('data: last\n\n'))
  assert.equal(stream.closeReason, 'server')
  await stop(server)
})

test('once the head is out the socket is handed over from node:http: no parser, none of its listeners', async () => {
  const hb = new HeartbeatRegistry()
  const { server, client, stream, serverSocket } = await open({ heartbeat: hb })
  await until(() => (serverSocket as { parser?: unknown }).parser === null)
  const names = serverSocket
    .eventNames()
    .flatMap((e) => serverSocket.listeners(e).map((f) => f.name))
  assert.ok(!names.some((n) => /socketOn|onSocket|onServerResponse/.test(n)), names.join())
  // Still a working stream: events flow, and a client close is still seen.
  stream.send({ data: 'after hand-over' })
  await until(() => client.text().includes('data: after hand-over\n\n'))
  client.socket.end()
  await stream.closed
  assert.equal(stream.closeReason, 'client')
  await until(() => serverSocket.destroyed)
  await stop(server)
})

test('detach: false leaves the connection to node:http', async () => {
  const hb = new HeartbeatRegistry()
  const { server, stream, serverSocket } = await open({ heartbeat: hb, detach: false })
  stream.send({ data: 'x' })
  await sleep(20)
  assert.ok((serverSocket as { parser?: unknown }).parser)
  stream.close()
  await stop(server)
})

test('a watcher of the response still gets its close event after the hand-over', async () => {
  const hb = new HeartbeatRegistry()
  let closes = 0
  let serverSocket: Socket | undefined
  let stream: SseStream | undefined
  const { server, port } = await serve((req, res) => {
    serverSocket = req.socket
    res.on('close', () => closes++)
    stream = createSseStream(req, res, { heartbeat: hb })
  })
  const client = rawClient(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
  await until(() => (serverSocket as { parser?: unknown } | undefined)?.parser === null)
  client.socket.destroy()
  await stream!.closed
  await until(() => closes === 1)
  await stop(server)
})

test('a HEAD request gets the SSE head and no body', async () => {
  const hb = new HeartbeatRegistry()
  let stream: SseStream | undefined
  const { server, port } = await serve((req, res) => {
    stream = createSseStream(req, res, { heartbeat: hb, retry: 100, padding: true })
    stream.send({ data: 'not for HEAD' })
  })
  const client = rawClient(port, 'HEAD / HTTP/1.1\r\nHost: x\r\n\r\n')
  await until(() => client.socket.readableEnded)
  assert.match(client.text(), /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n$/)
  assert.ok(client.text().includes('text/event-stream'))
  assert.equal(stream!.closeReason, 'server')
  assert.equal(hb.size, 0)
  await stop(server)
})
