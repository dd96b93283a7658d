import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer as createHttpsServer } from 'node:https'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { after, test } from 'node:test'
import WebSocket from 'ws'
import { Switchboard } from '../index.ts'
import {
  canWriteOwned,
  directWriteStats,
  directWriteSupported,
  PENDING,
  pendingDirect,
  STREAMED,
  setDirectWrite,
  TAKEN,
  writeOwned,
  writeSocket,
} from '../net/direct-write.ts'
import type { ServerWebSocket } from './connection.ts'
import { BUFFERED } from './constants.ts'
import { prepareMessage } from './sender.ts'
import { open, serve } from './test-utils/test-support.ts'

after(() => setDirectWrite(true))

/** A TCP pair on loopback: the server's accepted socket and a client socket, paused. */
async function pair(): Promise<{ server: Server; accepted: Socket; client: Socket }> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  const client = connect(port, '127.0.0.1')
  const connected = once(client, 'connect')
  const [accepted] = (await once(server, 'connection')) as [Socket]
  await connected
  client.pause()
  return { server, accepted, client }
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10))
  assert.ok(check(), 'condition not reached within 5 s')
}

function readAll(client: Socket, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let got = 0
  return new Promise((resolve) => {
    client.on('data', (d: Buffer) => {
      chunks.push(d)
      got += d.length
      if (got >= bytes) resolve(Buffer.concat(chunks))
    })
    client.resume()
  })
}

test('this Node supports the direct write path, and a WebSocket fan-out writes through it', async () => {
  // If a Node release changes the binding, this fails instead of silently taking the slow path.
  assert.equal(directWriteSupported, true)
  const conns: ServerWebSocket[] = []
  const { url } = await serve((a) => a.ws('/ws', { open: (ws) => void conns.push(ws) }))
  const clients = await Promise.all(Array.from({ length: 20 }, () => open(`${url}/ws`)))
  await until(() => conns.length === 20)
  const got = clients.map((ws) => once(ws, 'message'))
  const before = { ...directWriteStats }
  const message = prepareMessage('tick', false)
  for (const ws of conns) ws.sendPrepared(message)
  for (const [data] of await Promise.all(got)) assert.equal(String(data), 'tick')
  assert.ok(directWriteStats.direct - before.direct >= 20, JSON.stringify(directWriteStats))
  assert.equal(directWriteStats.fallback, before.fallback)
  for (const ws of clients) ws.close()
})

for (const direct of [true, false]) {
  test(`random messages of up to 300 KiB to forty clients arrive exactly as sent (${direct ? 'direct writes' : 'socket.write'})`, async () => {
    setDirectWrite(direct)
    try {
      const conns: ServerWebSocket[] = []
      const { url } = await serve((a) =>
        a.ws('/ws', { maxBackpressure: 64 << 20, open: (ws) => void conns.push(ws) }),
      )
      const clients = await Promise.all(Array.from({ length: 40 }, () => open(`${url}/ws`)))
      await until(() => conns.length === 40)
      const sent = [1, 125, 126, 65_535, 65_536, 300 * 1024].map((n) => randomBytes(n))
      const received = clients.map(
        (ws) =>
          new Promise<Buffer[]>((resolve) => {
            const got: Buffer[] = []
            ws.on('message', (d: Buffer) => {
              got.push(d)
              if (got.length === sent.length) resolve(got)
            })
          }),
      )
      for (const m of sent) {
        const p = prepareMessage(m, true)
        for (const ws of conns) ws.sendPrepared(p)
      }
      for (const got of await Promise.all(received)) {
        for (let k = 0; k < sent.length; k++) assert.ok(got[k]!.equals(sent[k]!), `message ${k}`)
      }
      for (const ws of clients) ws.close()
    } finally {
      setDirectWrite(true)
    }
  })
}

test('bytes the kernel does not take at once are counted, stay ahead of later writes, and end with a drain', async () => {
  const { server, accepted, client } = await pair()
  try {
    const first = randomBytes(8 << 20) // far more than loopback socket buffers hold
    const before = directWriteStats.direct
    writeSocket(accepted, first)
    assert.equal(directWriteStats.direct, before + 1, 'written through the handle')
    assert.ok(pendingDirect(accepted) > 0, 'the rest waits in libuv, counted')
    assert.equal(accepted.writableLength, 0, 'nothing went through the Writable')
    // A later write through the stream must not overtake the direct bytes.
    const second = randomBytes(1000)
    accepted.write(second)
    const third = randomBytes(1000)
    writeSocket(accepted, third) // the Writable holds `second`: this one takes the stream too
    const drained = once(accepted, 'drain')
    const all = await readAll(client, first.length + 2000)
    await drained
    assert.ok(all.equals(Buffer.concat([first, second, third])), 'bytes in write order')
    assert.equal(pendingDirect(accepted), 0)
  } finally {
    accepted.destroy()
    client.destroy()
    server.close()
  }
})

test('writeOwned says whether the kernel took the bytes, waits behind its own pending bytes, and leaves a destroyed socket to socket.write', async () => {
  const { server, accepted, client } = await pair()
  try {
    assert.equal(canWriteOwned(accepted), true)
    const small = randomBytes(100)
    assert.equal(writeOwned(accepted, small), TAKEN)
    const big = randomBytes(8 << 20)
    assert.equal(writeOwned(accepted, big), PENDING)
    const waiting = pendingDirect(accepted)
    assert.ok(waiting > 0 && waiting <= big.length, `${waiting} bytes wait in libuv, counted`)
    // An owner that saw PENDING writes through the stream next (writeSocket): it queues behind.
    const tail = randomBytes(1000)
    writeSocket(accepted, tail)
    const all = await readAll(client, small.length + big.length + tail.length)
    assert.ok(all.equals(Buffer.concat([small, big, tail])), 'bytes in write order')
  } finally {
    accepted.destroy()
    client.destroy()
    server.close()
  }
  const errors: unknown[] = []
  accepted.on('error', (e) => errors.push(e))
  assert.equal(writeOwned(accepted, Buffer.from('late')), STREAMED)
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(
    errors,
    [],
    'a write to a destroyed socket is dropped quietly, as socket.write drops it',
  )
})

test('a WebSocket written once a turn to a client that stops reading keeps every message in order once it reads again', async () => {
  const conns: ServerWebSocket[] = []
  const { url } = await serve((a) =>
    a.ws('/ws', { maxBackpressure: 64 << 20, open: (ws) => void conns.push(ws) }),
  )
  const client = await open(`${url}/ws`)
  await until(() => conns.length === 1)
  const ws = conns[0]!
  const raw = (client as unknown as { _socket: Socket })._socket
  raw.pause() // the kernel buffers fill; the server's writes go from TAKEN to PENDING to queued
  const got: number[] = []
  client.on('message', (d: Buffer) => got.push(d.readUInt32BE(0)))
  const before = directWriteStats.direct
  const n = 400
  let buffered = false
  for (let i = 0; i < n; i++) {
    const m = Buffer.alloc(32 * 1024)
    m.writeUInt32BE(i, 0)
    if (ws.sendPrepared(prepareMessage(m, true)) === BUFFERED) buffered = true
    await new Promise((r) => setImmediate(r)) // one write per turn: the owned path when idle
  }
  assert.ok(buffered, 'the unread socket reported BUFFERED at some point')
  assert.ok(directWriteStats.direct - before > 0, 'the first writes went straight to the handle')
  raw.resume()
  await until(() => got.length === n)
  assert.deepEqual(
    got,
    Array.from({ length: n }, (_, i) => i),
  )
  client.close()
})

test('a socket destroyed while direct bytes wait reports no error and holds nothing pending', async () => {
  const { server, accepted, client } = await pair()
  const errors: unknown[] = []
  accepted.on('error', (e) => errors.push(e))
  writeSocket(accepted, randomBytes(8 << 20))
  assert.ok(pendingDirect(accepted) > 0)
  accepted.destroy()
  await once(accepted, 'close')
  await new Promise((r) => setImmediate(r))
  assert.equal(pendingDirect(accepted), 0)
  assert.deepEqual(errors, [])
  client.destroy()
  server.close()
})

test('a WebSocket whose client does not read reports BUFFERED and its bufferedAmount, then drains', async () => {
  let drains = 0
  let ready!: () => void
  const drainedOnce = new Promise<void>((r) => {
    ready = r
  })
  const conns: ServerWebSocket[] = []
  const { url } = await serve((a) =>
    a.ws('/ws', {
      maxBackpressure: 64 << 20,
      open: (ws) => void conns.push(ws),
      drain() {
        drains++
        ready()
      },
    }),
  )
  const ws = new WebSocket(`${url}/ws`)
  await once(ws, 'open')
  const raw = (ws as unknown as { _socket: Socket })._socket
  raw.pause()
  await until(() => conns.length === 1)
  const server = conns[0]
  const big = prepareMessage(randomBytes(4 << 20), true)
  let status = server!.sendPrepared(big)
  for (let i = 0; i < 4 && status !== BUFFERED; i++) {
    await new Promise((r) => setImmediate(r))
    status = server!.sendPrepared(big)
  }
  assert.equal(status, BUFFERED)
  await new Promise((r) => setImmediate(r))
  assert.ok(server!.bufferedAmount > 0, `bufferedAmount ${server!.bufferedAmount}`)
  let messages = 0
  ws.on('message', () => messages++)
  raw.resume()
  await drainedOnce
  assert.ok(drains >= 1)
  assert.equal(server!.bufferedAmount, 0)
  ws.close()
  await once(ws, 'close')
  assert.ok(messages >= 1)
})

test('over TLS, echoed messages of up to 1 MiB arrive intact, in order', async () => {
  // A self-signed certificate made for these tests only (test/fixtures, valid for 100 years).
  const fixtures = new URL('../../test/fixtures/', import.meta.url)
  const server = createHttpsServer({
    key: readFileSync(new URL('tls-key.pem', fixtures)),
    cert: readFileSync(new URL('tls-cert.pem', fixtures)),
  })
  const app = new Switchboard({ logger: false })
  app.ws('/ws', {
    maxPayload: 2 << 20,
    maxBackpressure: 64 << 20,
    message: (ws, d, b) => void ws.send(d, b),
  })
  app.attach(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  try {
    const ws = await open(`wss://127.0.0.1:${port}/ws`, { rejectUnauthorized: false })
    const sent = [10, 70_000, 1 << 20, 300, 500_000].map((n) => randomBytes(n))
    const got: Buffer[] = []
    const all = new Promise<void>((resolve) =>
      ws.on('message', (d: Buffer) => {
        got.push(d)
        if (got.length === sent.length) resolve()
      }),
    )
    for (const m of sent) ws.send(m)
    await all
    for (let k = 0; k < sent.length; k++) assert.ok(got[k]!.equals(sent[k]!), `message ${k}`)
    ws.close()
  } finally {
    await app.close({ graceful: 200 })
    server.close()
  }
})
