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
import { open, rawClient, serve, stop } from './test-utils/stream-support.ts'

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

test('writeNow writes an open stream at once, outside the flush queue, after what was pending', async () => {
  const hb = new HeartbeatRegistry()
  const { server, client, stream } = await open({ heartbeat: hb })
  await sleep(10) // detached from node:http after its first flush
  stream.send({ data: 'a' })
  assert.equal(stream.writeNow(Buffer.from('data: b\n\n')), true)
  assert.equal(stream.bufferedBytes, 0, 'the pending event went out with it, in order')
  await sleep(5)
  const before = directWriteStats.direct
  assert.equal(stream.writeNow(Buffer.from('data: c\n\n')), true)
  assert.equal(stream.queued, false, 'not queued for the end of the turn')
  assert.equal(directWriteStats.direct - before, 1, 'written to the handle before the turn ended')
  assert.equal(stream.writeNow('data: d\n\n'), true)
  await until(() => client.text().endsWith('data: a\n\ndata: b\n\ndata: c\n\ndata: d\n\n'))
  stream.close()
  await stop(server)
})

for (const policy of ['drop', 'close'] as const) {
  test(`writeNow past the high-water mark of a client that stops reading applies the '${policy}' policy`, async () => {
    const hb = new HeartbeatRegistry()
    const { server, client, stream } = await open({ heartbeat: hb, highWaterMark: 1024, policy })
    await sleep(10)
    client.socket.pause()
    const chunk = Buffer.from(`data: ${'x'.repeat(16 * 1024)}\n\n`)
    let refused = 0
    for (let i = 0; i < 4000 && refused === 0; i++) {
      if (!stream.writeNow(chunk)) refused = i
      if (i % 64 === 63) await new Promise((r) => setImmediate(r))
    }
    assert.ok(refused > 0, 'a write was refused once the socket held bytes')
    if (policy === 'drop') {
      assert.equal(stream.dropped, 1)
      assert.equal(stream.isClosed, false)
    } else {
      assert.equal(stream.closeReason, 'backpressure')
    }
    stream.close()
    await stop(server)
  })
}
