import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer as createHttpsServer } from 'node:https'
import { connect, createServer, type Socket } from 'node:net'
import { after, test } from 'node:test'
import { Switchboard } from '../index.ts'
import {
  directReader,
  directReadSupported,
  readsDirectly,
  setDirectRead,
  useDirectRead,
} from './direct-read.ts'
import { open, serve } from './test-utils/test-support.ts'

after(() => setDirectRead(true))

test('this Node supports the direct read path, and accepted WebSocket sockets use it', async () => {
  // If a Node release renames the fields, this fails instead of silently taking the slow path.
  assert.equal(directReadSupported, true)
  const accepted: Socket[] = []
  const { app, url } = await serve((a) =>
    a.ws('/ws', { message: (ws, d, b) => void ws.send(d, b) }),
  )
  app.server!.on('connection', (s: Socket) => accepted.push(s))
  const ws = await open(`${url}/ws`)
  ws.send('x')
  await once(ws, 'message')
  assert.equal(accepted.length, 1)
  assert.equal(readsDirectly(accepted[0]!), true)
  ws.close()
})

for (const direct of [true, false]) {
  test(`forty clients echoing random binary messages of up to 300 KiB get back exactly what they sent (${direct ? 'direct reads' : "'data' events"})`, async () => {
    setDirectRead(direct)
    try {
      const { url } = await serve((a) =>
        a.ws('/ws', { maxPayload: 1 << 20, message: (ws, d, b) => void ws.send(d, b) }),
      )
      const clients = await Promise.all(Array.from({ length: 40 }, () => open(`${url}/ws`)))
      await Promise.all(
        clients.map(async (ws, i) => {
          const sent: Buffer[] = []
          for (let k = 0; k < 6; k++) {
            // Sizes cross the 64 KiB read buffer and the frame-length encodings.
            const size = [1, 125, 126, 65_535, 65_536 + i, 300 * 1024][(k + i) % 6]!
            sent.push(randomBytes(size))
          }
          const got: Buffer[] = []
          const done = new Promise<void>((resolve) =>
            ws.on('message', (d: Buffer) => {
              got.push(d)
              if (got.length === sent.length) resolve()
            }),
          )
          for (const m of sent) ws.send(m)
          await done
          for (let k = 0; k < sent.length; k++) {
            assert.ok(got[k]!.equals(sent[k]!), `client ${i} message ${k} differs`)
          }
          ws.close()
        }),
      )
    } finally {
      setDirectRead(true)
    }
  })
}

test('a server that stops taking messages stops reading the socket, then reads on when it resumes', async () => {
  let release!: () => void
  const gate = new Promise<void>((r) => {
    release = r
  })
  const seen: number[] = []
  const { app, url } = await serve((a) =>
    a.ws('/ws', {
      maxPayload: 1 << 20,
      async open(ws) {
        for await (const m of ws) {
          seen.push((m.data as Buffer).readUInt32BE(0))
          if (seen.length === 1) await gate
        }
      },
    }),
  )
  const accepted: Socket[] = []
  app.server!.on('connection', (s: Socket) => accepted.push(s))
  const ws = await open(`${url}/ws`)
  // Send until the client itself holds 2 MiB: the server's 1 MiB inbox and the kernel's socket
  // buffers (their size varies by machine) are full by then. Bounded at 64 MiB.
  const MESSAGE = 64 * 1024
  let total = 0
  while (ws.bufferedAmount < 2 * 1024 * 1024 && total < 1024) {
    const m = Buffer.alloc(MESSAGE)
    m.writeUInt32BE(total++, 0)
    ws.send(m)
    if (total % 16 === 0) await sleep(5)
  }
  assert.ok(ws.bufferedAmount >= 2 * 1024 * 1024, `the kernel took all ${total} messages`)
  const held = ws.bufferedAmount
  const took = seen.length
  await sleep(300)
  // Reading on would have drained the client; a paused socket leaves its buffer where it was.
  assert.equal(readsDirectly(accepted[0]!), true)
  assert.ok(ws.bufferedAmount >= held - MESSAGE, `client went from ${held} to ${ws.bufferedAmount}`)
  assert.equal(seen.length, took, 'the blocked consumer took nothing more')
  assert.ok(took <= 2, `server took ${took} messages while blocked`)
  release()
  const deadline = Date.now() + 15_000
  while (seen.length < total && Date.now() < deadline) await sleep(20)
  assert.deepEqual(
    seen,
    Array.from({ length: total }, (_, i) => i),
  )
  ws.close()
})

test('a socket with bytes already buffered in its stream keeps the data path', async () => {
  const { server, client, accepted } = await acceptedPair()
  accepted.pause()
  accepted.unshift(Buffer.from('early'))
  const reader = directReader(() => assert.fail('the direct reader must not be called'))
  assert.equal(useDirectRead(accepted, reader), false)
  assert.equal(readsDirectly(accepted), false)
  const data = new Promise<string>((r) => accepted.once('data', (d: Buffer) => r(String(d))))
  accepted.resume()
  assert.equal(await data, 'early')
  client.destroy()
  accepted.destroy()
  server.close()
})

test('the peer closing a directly read socket still ends it', async () => {
  const { server, client, accepted } = await acceptedPair()
  const chunks: string[] = []
  const reader = directReader(function (this: Socket, chunk: Buffer) {
    assert.equal(this, accepted)
    chunks.push(String(chunk))
  })
  assert.equal(useDirectRead(accepted, reader), true)
  const ended = once(accepted, 'end')
  client.end('last words')
  await ended
  assert.equal(chunks.join(''), 'last words')
  accepted.destroy()
  server.close()
})

/** A plain TCP server on loopback, a client connected to it, and the socket it accepted. */
async function acceptedPair() {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  const client = connect(port, '127.0.0.1')
  const [accepted] = (await once(server, 'connection')) as [Socket]
  return { server, client, accepted }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

test('a WebSocket over TLS keeps the data path and still carries large messages intact', async () => {
  // A self-signed certificate made for these tests only (test/fixtures, valid for 100 years).
  const fixtures = new URL('../../test/fixtures/', import.meta.url)
  const server = createHttpsServer({
    key: readFileSync(new URL('tls-key.pem', fixtures)),
    cert: readFileSync(new URL('tls-cert.pem', fixtures)),
  })
  const app = new Switchboard({ logger: false })
  app.ws('/ws', { maxPayload: 1 << 20, message: (ws, d, b) => void ws.send(d, b) })
  app.attach(server)
  const accepted: Socket[] = []
  server.on('secureConnection', (s: Socket) => accepted.push(s))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  try {
    const ws = await open(`wss://127.0.0.1:${port}/ws`, { rejectUnauthorized: false })
    const sent = randomBytes(200 * 1024)
    ws.send(sent)
    const [got] = (await once(ws, 'message')) as [Buffer]
    assert.ok(got.equals(sent))
    assert.equal(accepted.length, 1)
    assert.equal(readsDirectly(accepted[0]!), false)
    ws.close()
  } finally {
    await app.close({ graceful: 200 })
    server.close()
  }
})
