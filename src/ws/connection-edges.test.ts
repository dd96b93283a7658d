import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ServerWebSocket } from './connection.ts'
import { BUFFERED } from './constants.ts'
import { WsRegistry } from './registry.ts'
import { GOOD, open, rawHandshake, readAll, serve } from './test-utils/test-support.ts'

/** A masked client frame. */
function frame(opcode: number, payload: Buffer): Buffer {
  const head = Buffer.from([0x80 | opcode, 0x80 | payload.length, 1, 2, 3, 4])
  const body = Buffer.from(payload)
  for (let i = 0; i < body.length; i++) body[i]! ^= head[2 + (i & 3)]!
  return Buffer.concat([head, body])
}

test('answers a ping with a pong carrying the same payload and ignores unsolicited pongs', async () => {
  const seen: string[] = []
  const { url } = await serve((a) =>
    a.ws('/ws', {
      ping: (_ws, d) => void seen.push(`ping ${d}`),
      pong: (_ws, d) => void seen.push(`pong ${d}`),
    }),
  )
  const ws = await open(`${url}/ws`)
  const pong = new Promise<string>((r) => ws.once('pong', (d: Buffer) => r(d.toString())))
  ws.pong('unasked')
  ws.ping('abc')
  assert.equal(await pong, 'abc')
  assert.deepEqual(seen, ['pong unasked', 'ping abc'])
  ws.close()
})

test('a server close the client never answers is cut after closeTimeout', async () => {
  let server!: ServerWebSocket<undefined>
  let code = 0
  const { port } = await serve((a) =>
    a.ws('/ws', {
      closeTimeout: 300,
      open: (ws) => {
        server = ws
      },
      close: (_ws, c) => {
        code = c
      },
    }),
  )
  const { socket, rest } = await rawHandshake(port, GOOD)
  while (!server) await new Promise((r) => setTimeout(r, 5))
  const t0 = Date.now()
  server.close(4000, 'bye')
  const bytes = await readAll(socket, rest)
  const elapsed = Date.now() - t0
  assert.deepEqual([...bytes.subarray(0, 4)], [0x88, 5, 0x0f, 0xa0]) // close 4000 'bye'
  assert.ok(elapsed >= 250 && elapsed < 2000, `cut after ${elapsed} ms`)
  await new Promise((r) => setTimeout(r, 10))
  assert.equal(code, 4000) // the code of the close we started; none came back
})

test('a client close is echoed and the server ends the TCP connection first', async () => {
  const { port } = await serve((a) => a.ws('/ws', {}))
  const { socket, rest } = await rawHandshake(port, GOOD)
  socket.write(frame(8, Buffer.from([0x0b, 0xb8, 0x68]))) // 3000 'h'
  const bytes = await readAll(socket, rest)
  assert.deepEqual([...bytes], [0x88, 2, 0x0b, 0xb8])
})

test('messages under the compression threshold go out uncompressed, larger ones compressed', async () => {
  const { port } = await serve((a) =>
    a.ws('/ws', { compression: { threshold: 100 }, message: (ws, d, b) => void ws.send(d, b) }),
  )
  const { socket, head, rest } = await rawHandshake(port, [
    ...GOOD,
    'Sec-WebSocket-Extensions: permessage-deflate',
  ])
  assert.match(head, /sec-websocket-extensions: permessage-deflate\r?$/im)
  const chunks: Buffer[] = [rest]
  socket.on('data', (c) => chunks.push(c))
  socket.write(frame(1, Buffer.from('small')))
  await new Promise((r) => setTimeout(r, 50))
  socket.write(frame(1, Buffer.from('x'.repeat(120))))
  await new Promise((r) => setTimeout(r, 100))
  const all = Buffer.concat(chunks)
  assert.equal(all[0], 0x81) // FIN + text, RSV1 clear
  assert.equal(all.subarray(2, 7).toString(), 'small')
  assert.equal(all[7], 0xc1) // FIN + RSV1 + text
  assert.ok(all[8]! < 120) // compressed
  socket.destroy()
})

test('survives a handshake whose headers Node dropped over maxHeadersCount', async () => {
  const { app, port } = await serve((a) => a.ws('/ws', {}))
  app.server!.maxHeadersCount = 3
  const lines = ['GET /ws HTTP/1.1', 'X-A: 1', 'X-B: 2', ...GOOD.slice(1)]
  const { head, socket } = await rawHandshake(port, lines)
  // Node 20 drops the extra headers (we then refuse with 400); Node 22+ refuses with 431 itself.
  assert.match(head, /^HTTP\/1.1 (400|431) /)
  socket.destroy()
  app.server!.maxHeadersCount = 2000
  const ok = await open(`ws://127.0.0.1:${port}/ws`)
  ok.close()
})

test('drain fires after a send returned BUFFERED and the client caught up', async () => {
  let server!: ServerWebSocket<undefined>
  let drained = 0
  const { port } = await serve((a) =>
    a.ws('/ws', {
      maxBackpressure: 64 * 1024 * 1024,
      open: (ws) => {
        server = ws
      },
      drain: () => {
        drained++
      },
    }),
  )
  const { socket } = await rawHandshake(port, GOOD)
  socket.pause()
  while (!server) await new Promise((r) => setTimeout(r, 5))
  let status = 0
  for (let turn = 0; turn < 500 && status !== BUFFERED; turn++) {
    status = server.send(Buffer.alloc(64 * 1024))
    await new Promise((r) => setImmediate(r))
  }
  assert.equal(status, BUFFERED)
  assert.ok(server.bufferedAmount > 0)
  socket.resume()
  for (let i = 0; i < 200 && drained === 0; i++) await new Promise((r) => setTimeout(r, 10))
  assert.ok(drained >= 1)
  socket.destroy()
})

test('the registry runs one timer only while it has connections, and closeAll stops it', async () => {
  const registry = new WsRegistry()
  const beats: number[] = []
  let finished!: () => void
  const gone = new Promise<void>((r) => {
    finished = r
  })
  const fake = {
    heartbeat: (now: number) => void beats.push(now),
    close: () =>
      setTimeout(() => {
        registry.delete(fake as never)
        finished()
      }, 5),
    terminate: () => {},
    closed: gone,
  }
  const timer = () => (registry as unknown as { timer: unknown }).timer
  assert.equal(timer(), null)
  registry.add(fake as never, 400, 5000)
  assert.notEqual(timer(), null)
  await new Promise((r) => setTimeout(r, 250))
  assert.ok(beats.length >= 1, 'the shared timer ticked')
  await registry.closeAll(500)
  assert.equal(timer(), null)
  assert.equal(registry.closing, true)
})

test('a client that resets during a slow upgrade hook or a refusal does not crash the server', async () => {
  let hookRan = 0
  const { port, url } = await serve((a) =>
    a.ws('/ws', {
      async upgrade() {
        hookRan++
        await new Promise((r) => setTimeout(r, 100))
      },
    }),
  )
  const { connect } = await import('node:net')
  const lines = `${GOOD.join('\r\n')}\r\n\r\n`
  for (const bad of [lines, lines.replace('Version: 13', 'Version: 8')]) {
    const s = connect(port, '127.0.0.1')
    s.on('error', () => {})
    await new Promise((r) => s.once('connect', r))
    s.write(bad)
    await new Promise((r) => setTimeout(r, 20))
    s.resetAndDestroy()
  }
  await new Promise((r) => setTimeout(r, 200))
  assert.equal(hookRan, 1)
  const ws = await open(`${url}/ws`) // the server is still up
  ws.close()
})

test('handleUpgrade serves a plain node:http server, and a connection after a quiet spell is not taken for idle', async () => {
  const { createServer } = await import('node:http')
  const { handleUpgrade } = await import('./upgrade.ts')
  const { resolveWsRoute } = await import('./route.ts')
  const registry = new WsRegistry()
  const route = resolveWsRoute({ idleTimeout: 1, message: (ws, d, b) => void ws.send(d, b) })
  const server = createServer()
  server.on('upgrade', (req, socket, head) =>
    handleUpgrade({ route, registry }, req, socket, head, undefined),
  )
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  registry.now -= 3_600_000 // as if the last connection left an hour ago
  const ws = await open(`ws://127.0.0.1:${port}/`)
  await new Promise((r) => setTimeout(r, 350)) // past the first ticks of the shared timer
  assert.equal(ws.readyState, ws.OPEN, 'the new connection was closed as idle')
  const echo = new Promise<string>((r) => ws.once('message', (d: Buffer) => r(d.toString())))
  ws.send('still open')
  assert.equal(await echo, 'still open')
  ws.close()
  await registry.closeAll(200)
  server.close()
})

/** A masked client frame with RSV1 (compressed) and any length. */
function compressedFrame(payload: Buffer): Buffer {
  const len = payload.length
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8
  const head = Buffer.alloc(6 + ext)
  head[0] = 0xc2 // FIN + RSV1 + binary
  head[1] = 0x80 | (ext === 0 ? len : ext === 2 ? 126 : 127)
  if (ext === 2) head.writeUInt16BE(len, 2)
  if (ext === 8) head.writeBigUInt64BE(BigInt(len), 2)
  head.writeUInt32BE(0x01020304, 2 + ext)
  const body = Buffer.from(payload)
  for (let i = 0; i < len; i++) body[i]! ^= head[2 + ext + (i & 3)]!
  return Buffer.concat([head, body])
}

test('over a live socket: a deflate bomb closes with 1009 and corrupt compressed data with 1007', async () => {
  const { deflateRawSync, constants } = await import('node:zlib')
  const { port } = await serve((a) => a.ws('/ws', { compression: true, maxPayload: 64 * 1024 }))
  const offer = [...GOOD, 'Sec-WebSocket-Extensions: permessage-deflate']
  const bomb = deflateRawSync(Buffer.alloc(8 * 1024 * 1024), {
    finishFlush: constants.Z_SYNC_FLUSH,
  })
  const cases: [Buffer, number][] = [
    [compressedFrame(bomb.subarray(0, bomb.length - 4)), 1009],
    [compressedFrame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x01])), 1007],
  ]
  for (const [bytes, code] of cases) {
    const { socket, rest } = await rawHandshake(port, offer)
    socket.write(bytes)
    const got = await readAll(socket, rest)
    assert.equal(got[0], 0x88)
    assert.equal(got.readUInt16BE(2), code)
  }
})

test('sends in one turn leave in one corked flush, through listeners shared by every connection', async () => {
  const conns: ServerWebSocket<undefined>[] = []
  const { url } = await serve((a) => a.ws('/ws', { open: (ws) => void conns.push(ws) }))
  const clients = [await open(`${url}/ws`), await open(`${url}/ws`)]
  while (conns.length < 2) await new Promise((r) => setTimeout(r, 5))
  const sockets = conns.map((c) => (c as unknown as { socket: import('node:net').Socket }).socket)
  // No closure per connection: both sockets hold the very same listener functions.
  for (const event of ['data', 'close', 'end', 'error']) {
    const mine = (s: import('node:net').Socket) => s.listeners(event).at(-1)
    assert.equal(mine(sockets[0]!), mine(sockets[1]!), event)
  }
  const s = sockets[0]!
  const calls: string[] = []
  const { cork, uncork, write } = s
  s.cork = function () {
    calls.push('cork')
    return cork.call(this)
  }
  s.uncork = function () {
    calls.push('uncork')
    return uncork.call(this)
  }
  s.write = function (this: typeof s, ...args: Parameters<typeof write>) {
    calls.push('write')
    return write.apply(this, args)
  } as typeof write
  const got = new Promise<void>((r) => {
    let n = 0
    clients[0]!.on('message', () => ++n === 10 && r())
  })
  for (let i = 0; i < 10; i++) conns[0]!.send(`m${i}`)
  assert.deepEqual(calls, []) // nothing is written during the turn
  await got
  assert.deepEqual(calls, ['cork', ...Array(10).fill('write'), 'uncork'])
  for (const c of clients) c.close()
})
