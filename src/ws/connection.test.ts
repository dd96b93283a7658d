import assert from 'node:assert/strict'
import { test } from 'node:test'
import WebSocket from 'ws'
import { HttpError } from '../index.ts'
import type { ServerWebSocket } from './connection.ts'
import { DROPPED, SENT } from './constants.ts'
import { prepareMessage } from './sender.ts'
import { closed, GOOD, open, rawHandshake, readAll, serve } from './test-utils/test-support.ts'

test('echoes text as text and binary as binary, and reports the client close code', async () => {
  let closeArgs: unknown[] = []
  let resolveClose!: () => void
  const serverClosed = new Promise<void>((r) => {
    resolveClose = r
  })
  const { url } = await serve((app) =>
    app.ws('/ws', {
      message(ws, data, isBinary) {
        assert.equal(ws.send(data, isBinary), SENT)
      },
      close(_ws, code, reason) {
        closeArgs = [code, reason]
        resolveClose()
      },
    }),
  )
  const ws = await open(`${url}/ws`)
  const got: [string, boolean][] = []
  const two = new Promise<void>((resolve) =>
    ws.on('message', (d: Buffer, isBinary) => {
      got.push([isBinary ? d.toString('hex') : d.toString(), isBinary])
      if (got.length === 2) resolve()
    }),
  )
  ws.send('héllo')
  ws.send(Buffer.from([1, 2, 3]))
  await two
  assert.deepEqual(got, [
    ['héllo', false],
    ['010203', true],
  ])
  ws.close(4001, 'bye')
  assert.deepEqual(await closed(ws), [4001, ''])
  await serverClosed
  assert.deepEqual(closeArgs, [4001, 'bye'])
})

test('a plain GET on a WebSocket route answers 426 with Upgrade: websocket', async () => {
  const { app, port } = await serve((a) => a.ws('/ws', {}))
  const res = await fetch(`http://127.0.0.1:${port}/ws`)
  assert.equal(res.status, 426)
  assert.equal(res.headers.get('upgrade'), 'websocket')
  assert.equal(
    ((await res.json()) as { error: { code: string } }).error.code,
    'SWB_ERR_WS_UPGRADE_REQUIRED',
  )
  const inProcess = await app.request('/ws')
  assert.equal(inProcess.status, 426)
})

test('refuses bad handshakes on the socket with the exact status', async () => {
  const { port } = await serve((a) => a.ws('/ws', { allowedOrigins: ['https://ok.example'] }))
  const cases: [string[], number, string?][] = [
    [
      GOOD.map((l) => l.replace('Version: 13', 'Version: 8')).concat('Origin: https://ok.example'),
      426,
      'sec-websocket-version: 13',
    ],
    [GOOD.map((l) => l.replace('HTTP/1.1', 'HTTP/1.0')).concat('Origin: https://ok.example'), 400],
    [GOOD.filter((l) => !l.startsWith('Host')).concat('Origin: https://ok.example'), 400],
    [
      GOOD.map((l) => l.replace('GET', 'POST')).concat('Origin: https://ok.example'),
      405,
      'allow: get',
    ],
    [GOOD.concat('Origin: https://evil.example'), 403],
    [GOOD.concat('Origin: https://ok.example', 'Sec-WebSocket-Protocol: a,,b'), 400],
    [GOOD.concat('Origin: https://ok.example'), 101],
  ]
  for (const [lines, status, header] of cases) {
    const { socket, head } = await rawHandshake(port, lines)
    assert.match(head, new RegExp(`^HTTP/1.1 ${status} `), lines.join(' | '))
    if (header) assert.ok(head.toLowerCase().includes(header), `${status} lacks ${header}`)
    socket.destroy()
  }
})

test('the upgrade hook attaches typed data, rejects with any status and is time-boxed', async () => {
  const { url, port } = await serve((app) =>
    app.ws<{ user: string }>('/ws', {
      upgradeTimeout: 200,
      async upgrade(ctx) {
        const who = ctx.query.user
        if (who === 'slow') await new Promise((r) => setTimeout(r, 2000))
        if (!who) throw new HttpError(401, 'Sign in first')
        return { user: who }
      },
      open(ws) {
        ws.send(`hi ${ws.data.user}`)
      },
    }),
  )
  const ws = new WebSocket(`${url}/ws?user=ada`)
  const [msg] = await new Promise<[Buffer]>((resolve) =>
    ws.once('message', (d: Buffer) => resolve([d])),
  )
  assert.equal(msg.toString(), 'hi ada')
  ws.close()
  const refused = await rawHandshake(port, GOOD)
  assert.match(refused.head, /^HTTP\/1.1 401 /)
  const body = await readAll(refused.socket, refused.rest)
  assert.equal(JSON.parse(body.toString()).error.message, 'Sign in first')
  const t0 = Date.now()
  const slow = await rawHandshake(
    port,
    GOOD.map((l) => l.replace('/ws', '/ws?user=slow')),
  )
  assert.match(slow.head, /^HTTP\/1.1 503 /)
  assert.ok(Date.now() - t0 < 1500)
  slow.socket.destroy()
})

test('a protocol error closes with 1002 and the close hook reports it', async () => {
  let code = 0
  const { port } = await serve((a) =>
    a.ws('/ws', {
      close(_ws, c) {
        code = c
      },
    }),
  )
  const { socket, rest } = await rawHandshake(port, GOOD)
  socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69])) // unmasked text frame
  const bytes = await readAll(socket, rest)
  assert.deepEqual([...bytes.subarray(0, 4)], [0x88, bytes[1], 0x03, 0xea]) // close, 1002
  await new Promise((r) => setTimeout(r, 20))
  assert.equal(code, 1002)
})

test('idle connections are pinged at half the idle timeout and closed with 1001 without a pong', async () => {
  const { port, url } = await serve((a) => a.ws('/ws', { idleTimeout: 0.4 }))
  // A ws client answers pings, so it survives several idle periods.
  const alive = await open(`${url}/ws`)
  let pings = 0
  alive.on('ping', () => pings++)
  // A raw client that never answers is closed.
  const { socket, rest } = await rawHandshake(port, GOOD)
  const t0 = Date.now()
  const bytes = await readAll(socket, rest)
  const elapsed = Date.now() - t0
  assert.equal(bytes[0], 0x89) // the ping came first
  const close = bytes.indexOf(0x88)
  assert.ok(close > 0)
  assert.equal(bytes.readUInt16BE(close + 2), 1001)
  assert.ok(elapsed >= 300 && elapsed < 2000, `closed after ${elapsed} ms`)
  assert.equal(alive.readyState, WebSocket.OPEN)
  assert.ok(pings >= 1)
  alive.close()
})

test('backpressure "drop": sends past maxBackpressure return DROPPED and are counted', async () => {
  let server!: ServerWebSocket<undefined>
  const ready = new Promise<void>((resolve) => {
    void serve((a) =>
      a.ws('/ws', {
        maxBackpressure: 64 * 1024,
        backpressurePolicy: 'drop',
        open(ws) {
          server = ws
          resolve()
        },
      }),
    ).then(({ port }) => rawHandshake(port, GOOD).then(({ socket }) => socket.pause()))
  })
  await ready
  const chunk = Buffer.alloc(16 * 1024)
  let dropped = 0
  for (let turn = 0; turn < 200 && dropped === 0; turn++) {
    for (let i = 0; i < 16; i++) if (server.send(chunk) === DROPPED) dropped++
    await new Promise((r) => setImmediate(r))
  }
  assert.ok(dropped > 0, 'nothing was dropped')
  assert.equal(server.dropped, dropped)
  assert.ok(server.bufferedAmount <= 64 * 1024 + 16 * 1024 * 17)
  assert.equal(server.readyState, 1)
  server.terminate()
})

test('backpressure "close" (the default) closes a client that never reads with 1013', async () => {
  let code = 0
  let server!: ServerWebSocket<undefined>
  const done = new Promise<void>((resolve) => {
    void serve((a) =>
      a.ws('/ws', {
        maxBackpressure: 32 * 1024,
        closeTimeout: 200,
        open(ws) {
          server = ws
        },
        close(_ws, c) {
          code = c
          resolve()
        },
      }),
    ).then(({ port }) => rawHandshake(port, GOOD).then(({ socket }) => socket.pause()))
  })
  while (!server) await new Promise((r) => setTimeout(r, 5))
  for (let turn = 0; turn < 500 && server.readyState === 1; turn++) {
    server.send(Buffer.alloc(16 * 1024))
    await new Promise((r) => setImmediate(r))
  }
  await done
  assert.equal(code, 1013)
})

test('a hook that throws closes the connection with 1011', async () => {
  const { url } = await serve((a) =>
    a.ws('/ws', {
      message() {
        throw new Error('boom')
      },
    }),
  )
  const ws = await open(`${url}/ws`)
  ws.send('x')
  assert.equal((await closed(ws))[0], 1011)
})

test('loop style: for await yields every message in order and ends on close', async () => {
  const seen: string[] = []
  let ended!: () => void
  const loopEnded = new Promise<void>((r) => {
    ended = r
  })
  const { url } = await serve((a) =>
    a.ws('/ws', {
      async open(ws) {
        for await (const m of ws) {
          seen.push(m.data.toString())
          await new Promise((r) => setTimeout(r, 2))
          ws.send(m.data, m.isBinary)
        }
        ended()
      },
    }),
  )
  const ws = await open(`${url}/ws`)
  const echoed: string[] = []
  const all = new Promise<void>((r) =>
    ws.on('message', (d: Buffer) => echoed.push(d.toString()) === 5 && r()),
  )
  for (let i = 0; i < 5; i++) ws.send(`m${i}`)
  await all
  ws.close()
  await loopEnded
  assert.deepEqual(seen, ['m0', 'm1', 'm2', 'm3', 'm4'])
  assert.deepEqual(echoed, seen)
})

test('prepareMessage frames once and sendPrepared writes the same bytes to many sockets', async () => {
  const conns: ServerWebSocket<undefined>[] = []
  const { url } = await serve((a) =>
    a.ws('/ws', { compression: true, open: (ws) => void conns.push(ws) }),
  )
  const clients = await Promise.all([
    open(`${url}/ws`),
    open(`${url}/ws`, { perMessageDeflate: false }),
    open(`${url}/ws`),
  ])
  while (conns.length < 3) await new Promise((r) => setTimeout(r, 5))
  const p = prepareMessage('broadcast', false)
  const got = Promise.all(
    clients.map(
      (c) => new Promise<string>((r) => c.once('message', (d: Buffer) => r(d.toString()))),
    ),
  )
  for (const ws of conns) assert.equal(ws.sendPrepared(p), SENT)
  assert.deepEqual(await got, ['broadcast', 'broadcast', 'broadcast'])
  for (const c of clients) c.close()
})

test('compressed messages round-trip with a ws client that negotiated permessage-deflate', async () => {
  const { url } = await serve((a) =>
    a.ws('/ws', { compression: { threshold: 16 }, message: (ws, d, b) => void ws.send(d, b) }),
  )
  const ws = await open(`${url}/ws`, { perMessageDeflate: { threshold: 0 } })
  assert.match(ws.extensions, /permessage-deflate/)
  const big = 'abc'.repeat(50_000)
  const got = new Promise<string>((r) => ws.once('message', (d: Buffer) => r(d.toString())))
  ws.send(big)
  assert.equal(await got, big)
  ws.close()
})

test('ws.close() from the server sends the code; app.close() closes the rest with 1001', async () => {
  const conns: ServerWebSocket<undefined>[] = []
  const { app, url } = await serve((a) => a.ws('/ws', { open: (ws) => void conns.push(ws) }))
  const a = await open(`${url}/ws`)
  const b = await open(`${url}/ws`)
  while (conns.length < 2) await new Promise((r) => setTimeout(r, 5))
  assert.throws(() => conns[0]!.close(1005), /invalid close code/)
  const aClosed = closed(a)
  conns[0]!.close(4000, 'kicked')
  assert.deepEqual(await aClosed, [4000, 'kicked'])
  const bClosed = closed(b)
  await app.close({ graceful: 500 })
  assert.equal((await bClosed)[0], 1001)
  assert.equal(conns[1]!.readyState, 3)
})
