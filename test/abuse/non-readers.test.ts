// Clients that subscribe and never read. The issue asks for 10,000; here 1,000 stall while a
// channel is published to (each non-reading loopback socket soaks up about 4 MB of kernel send
// buffer before the server sees any backpressure, so 10,000 would hold some 40 GB of a shared
// machine's memory, outside the server): the server's memory stays bounded and a subscriber of
// the same channel in another process keeps receiving, on time and without loss. Then 100
// stall past the kernel's buffers: each is disconnected as a slow consumer (3001 over
// WebSocket) once it holds more than maxOutboxBytes (64 KiB here, 1 MiB by
// default) and the server holds no more than that per client; an SSE stream is cut at its
// buffer's mark. Publishing runs on the server (100/s, then 200/s of 8 KiB); on this shared
// 2-core machine a fan-out to 1,000 loopback sockets runs at a few publications a second, so the
// reading subscriber is held to "answered, in order, without loss, p99 within the bound".
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { after, test } from 'node:test'
import { frame, openRaw } from './support/frames.ts'
import {
  assertHeapBack,
  assertPeakWithin,
  assertService,
  sleep,
  startProbe,
  startServer,
} from './support/harness.ts'

const CHANNEL = 'feed:a'
const server = await startServer({ channels: { maxOutboxBytes: 64 * 1024 } })
const probe = await startProbe(server.port, 'channel', CHANNEL)
after(async () => {
  probe.close()
  await server.stopPublishing()
  await server.close()
})

interface Stalled {
  socket: Socket
  sse: boolean
  /** Everything read after the subscription was confirmed (read once the test resumes it). */
  tail: () => string
}

/** Reads until `marker` arrived, then stops reading; later bytes are kept for `tail()`. */
function stallAfter(socket: Socket, marker: string, sse: boolean): Promise<Stalled> {
  return new Promise((resolve, reject) => {
    let seen = ''
    let stalled = false
    const later: Buffer[] = []
    socket.on('error', () => {})
    socket.on('data', (d: Buffer) => {
      if (stalled) {
        later.push(d)
        return
      }
      seen += d.toString('latin1')
      if (!seen.includes(marker)) return
      stalled = true
      socket.pause()
      resolve({ socket, sse, tail: () => Buffer.concat(later).toString('latin1') })
    })
    socket.once('close', () => {
      if (!stalled) reject(new Error(`closed before subscribing: ${seen.slice(0, 200)}`))
    })
  })
}

async function stalledWs(): Promise<Stalled> {
  const { socket } = await openRaw(server.port, '/switchboard')
  const stalled = stallAfter(socket, '"id":2,"result"', false)
  socket.write(frame(0x1, Buffer.from('{"id":1,"type":"connect"}')))
  socket.write(frame(0x1, Buffer.from(`{"id":2,"type":"subscribe","channel":"${CHANNEL}"}`)))
  return stalled
}

function stalledSse(): Promise<Stalled> {
  const socket = connect(server.port, '127.0.0.1')
  socket.write(
    `GET /switchboard?channel=${CHANNEL} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`,
  )
  return stallAfter(socket, 'event: subscribe', true)
}

/** Opens `n` stalled subscribers, 30% of them SSE, 50 at a time. */
async function stallMany(n: number): Promise<Stalled[]> {
  const out: Stalled[] = []
  for (let i = 0; i < n; i += 50) {
    const batch = Array.from({ length: Math.min(50, n - i) }, (_, k) =>
      (i + k) % 10 < 3 ? stalledSse() : stalledWs(),
    )
    out.push(...(await Promise.all(batch)))
  }
  return out
}

test('1,000 subscribers (WebSocket and SSE) that never read: server memory stays bounded and a reading subscriber of the same channel loses nothing and stays on time', async (t) => {
  const quiet = await probe.measure(async () => {
    await server.publish(CHANNEL, 100, 1024)
    await sleep(1000)
  })
  await server.stopPublishing()
  const before = await server.settled()
  await server.resetPeak()
  const stalled = await stallMany(1000)
  assert.equal((await server.stats()).hubConnections, 1001)
  const attacked = await probe.measure(async () => {
    await server.publish(CHANNEL, 100, 1024)
    await sleep(3000)
    await server.stopPublishing()
  })
  const during = await server.stats()
  assert.equal(attacked.lost, 0, 'the reading subscriber saw every offset')
  assert.equal(attacked.gaps, 0)
  t.diagnostic(assertService(quiet, attacked, 3))
  // 1,000 subscribers were each sent some 300 KB: the same encoded frames, held by the kernel.
  t.diagnostic(assertPeakWithin(before, during, 64))
  for (const s of stalled) s.socket.destroy()
  for (let i = 0; i < 100 && (await server.stats()).hubConnections > 1; i++) await sleep(50)
  assert.equal((await server.stats()).hubConnections, 1)
  assertHeapBack(before, await server.settled(), 8)
})

test('100 subscribers that never read while 1.6 MB/s is published are each disconnected with 3001 once over maxOutboxBytes; memory stays bounded and a reading subscriber keeps up', async (t) => {
  const quiet = await probe.measure(async () => {
    await server.publish(CHANNEL, 200, 8 * 1024)
    await sleep(1000)
  })
  await server.stopPublishing()
  const before = await server.settled()
  await server.resetPeak()
  const stalled = await stallMany(100)
  const attacked = await probe.measure(async () => {
    await server.publish(CHANNEL, 200, 8 * 1024)
    for (let i = 0; i < 300 && (await server.stats()).hubConnections > 1; i++) await sleep(50)
    await server.stopPublishing()
  })
  const during = await server.stats()
  assert.equal(during.hubConnections, 1, 'every non-reader was disconnected; the probe stays')
  // Read what each was sent: its last words are the slow-consumer disconnect.
  const ends = await Promise.all(
    stalled.map(
      (s) =>
        new Promise<string>((resolve) => {
          s.socket.on('close', () => resolve(s.tail().slice(-400)))
          s.socket.resume()
        }),
    ),
  )
  stalled.forEach((s, i) => {
    if (s.sse) assert.doesNotMatch(ends[i]!, /"type":"disconnect","code":(?!3001)/)
  })
  const wsCodes: Record<string, number> = {}
  stalled.forEach((s, i) => {
    if (s.sse) return
    const m = /\x88.(..)[^\x88]*$/s.exec(ends[i]!)
    const code = m ? (m[1]!.charCodeAt(0) << 8) | m[1]!.charCodeAt(1) : 'none'
    wsCodes[code] = (wsCodes[code] ?? 0) + 1
  })
  t.diagnostic(`WebSocket close codes read: ${JSON.stringify(wsCodes)}`)
  // A socket that does not read for closeTimeout (5 s) after its close frame is cut without it.
  assert.deepEqual(
    Object.keys(wsCodes).filter((c) => c !== '3001' && c !== 'none'),
    [],
  )
  assert.ok((wsCodes[3001] ?? 0) >= 1, 'those that read in time read 3001')
  assert.equal(attacked.broken, null)
  t.diagnostic(assertService(quiet, attacked, 3))
  // At most the outbox (64 KiB) and the socket's buffer above it per client, shared frames aside.
  t.diagnostic(assertPeakWithin(before, during, 64))
  assertHeapBack(before, await server.settled(), 8)
})
