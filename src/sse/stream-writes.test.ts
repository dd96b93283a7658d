// How SSE streams write: the events of a turn joined once and shared, one write per stream, on
// either write path (the socket handle directly, or socket.write).
import assert from 'node:assert/strict'
import type { Socket } from 'node:net'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { directWriteStats, setDirectWrite } from '../net/direct-write.ts'
import { waitFor as until } from '../test-utils/wait.ts'
import { broadcast, createSseStream } from './create.ts'
import { prepareEvent } from './encode.ts'
import { HeartbeatRegistry } from './heartbeat.ts'
import type { SseStream } from './stream.ts'
import { rawClient, serve, stop } from './test-utils/stream-support.ts'

test('streams given the same prepared events in a turn share one joined buffer, one write each (socket.write path)', async () => {
  setDirectWrite(false)
  const hb = new HeartbeatRegistry()
  const streams: SseStream[] = []
  const sockets: Socket[] = []
  const { server, port } = await serve((req, res) => {
    sockets.push(req.socket)
    streams.push(createSseStream(req, res, { heartbeat: hb }))
  })
  const clients = Array.from({ length: 5 }, () =>
    rawClient(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
  )
  await until(() => streams.length === 5 && clients.every((c) => c.text().includes('\r\n\r\n')))
  await sleep(10)
  const written: unknown[] = []
  for (const sock of sockets) {
    const original = sock.write
    sock.write = function (this: Socket, chunk: unknown, ...rest: unknown[]) {
      written.push(chunk)
      return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest)
    } as typeof sock.write
  }
  const events = [1, 2, 3].map((n) => prepareEvent({ id: n, data: `e${n}` }))
  for (const e of events) broadcast(streams, e)
  const expected = 'id: 1\ndata: e1\n\nid: 2\ndata: e2\n\nid: 3\ndata: e3\n\n'
  await until(() => clients.every((c) => c.text().endsWith(expected)))
  assert.equal(written.length, 5)
  assert.ok(
    written.every((b) => b === written[0]),
    'the same Buffer object for every stream',
  )
  for (const s of streams) s.close()
  await stop(server)
  setDirectWrite(true)
})

test('streams given the same prepared events in a turn write once each, through the socket handle', async () => {
  const hb = new HeartbeatRegistry()
  const streams: SseStream[] = []
  const { server, port } = await serve((req, res) => {
    streams.push(createSseStream(req, res, { heartbeat: hb }))
  })
  const clients = Array.from({ length: 5 }, () =>
    rawClient(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
  )
  await until(() => streams.length === 5 && clients.every((c) => c.text().includes('\r\n\r\n')))
  await sleep(10)
  const before = { ...directWriteStats }
  const events = [1, 2, 3].map((n) => prepareEvent({ id: n, data: `e${n}` }))
  for (const e of events) broadcast(streams, e)
  const expected = 'id: 1\ndata: e1\n\nid: 2\ndata: e2\n\nid: 3\ndata: e3\n\n'
  await until(() => clients.every((c) => c.text().endsWith(expected)))
  assert.equal(directWriteStats.direct - before.direct, 5, 'one direct write per stream')
  assert.equal(directWriteStats.fallback, before.fallback)
  for (const s of streams) s.close()
  await stop(server)
})

test('a stream written once a turn to a client that stops reading keeps every event, in order, once it reads again', async () => {
  const hb = new HeartbeatRegistry()
  let stream: SseStream | undefined
  const { server, port } = await serve((req, res) => {
    stream = createSseStream(req, res, { heartbeat: hb, highWaterMark: 64 << 20 })
  })
  const client = rawClient(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
  await until(() => stream !== undefined && client.text().includes('\r\n\r\n'))
  await sleep(10) // the stream is detached from node:http after its first flush
  client.socket.pause() // the kernel's buffers fill: writes go from the handle to the queue
  const before = directWriteStats.direct
  const pad = 'x'.repeat(16 * 1024)
  const n = 600
  let backlog = false
  for (let i = 0; i < n; i++) {
    stream!.sendPrepared(prepareEvent({ id: i, data: pad }))
    await new Promise((r) => setImmediate(r)) // one write per turn
    if (stream!.bufferedBytes > 0) backlog = true
  }
  assert.ok(backlog, 'the unread socket held bytes at some point')
  assert.ok(directWriteStats.direct - before > 0, 'the first writes went straight to the handle')
  client.socket.resume()
  await until(() => (client.text().match(/\n\n/g) ?? []).length >= n, 10_000)
  const ids = [...client.text().matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))
  assert.deepEqual(
    ids,
    Array.from({ length: n }, (_, i) => i),
  )
  stream!.close()
  await stop(server)
})
