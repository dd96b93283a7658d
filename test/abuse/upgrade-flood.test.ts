// A flood of WebSocket upgrades: thousands of handshakes as fast as the client can send them,
// valid ones that open and leave at once, malformed ones, and ones whose upgrade hook never
// answers. Each gets its status (101, 400, 426, 503 after upgradeTimeout), nothing is left
// open afterwards, the server's memory stays bounded, and a well-behaved client keeps its
// round trips.
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, test } from 'node:test'
import {
  assertHeapBack,
  assertPeakWithin,
  assertService,
  sleep,
  startProbe,
  startServer,
} from './support/harness.ts'

const KEY = 'dGhlIHNhbXBsZSBub25jZQ=='
const upgradeHead = (path: string, extra: string) =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${extra}\r\n`

/** One handshake: resolves with the answer's status once it arrives, then leaves. */
function handshake(port: number, head: string, graceful: boolean): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    let got = ''
    let status = 0
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => {
      got += d
      if (status !== 0 || !got.includes('\r\n\r\n')) return
      status = Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? -1)
      // A client close frame (masked, code 1000), or just vanish.
      if (status === 101 && graceful) socket.end(Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]))
      else socket.destroy()
    })
    socket.on('error', () => {})
    socket.on('close', () => resolve(status))
    socket.write(head)
  })
}

/** Runs `n` handshakes, `concurrency` at a time; resolves with how many got each status. */
async function flood(n: number, concurrency: number, one: (i: number) => Promise<number>) {
  const counts: Record<number, number> = {}
  let next = 0
  const worker = async () => {
    while (next < n) {
      const status = await one(next++)
      counts[status] = (counts[status] ?? 0) + 1
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return counts
}

const server = await startServer({ echo: { idleTimeout: 30 } })
const probe = await startProbe(server.port, 'echo')
after(async () => {
  probe.close()
  await server.close()
})

test('2,100 upgrades as fast as they come (valid and gone at once, malformed, or stalled in the hook) each get their status; none stays open, memory stays bounded, a WebSocket client keeps its round trips', async (t) => {
  const quiet = await probe.measure(() => sleep(1000))
  const before = await server.settled()
  await server.resetPeak()
  const valid = upgradeHead('/echo', `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n`)
  const oldVersion = upgradeHead(
    '/echo',
    `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 8\r\n`,
  )
  const noKey = upgradeHead('/echo', 'Sec-WebSocket-Version: 13\r\n')
  const stalled = upgradeHead(
    '/stall',
    `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n`,
  )
  let counts: Record<number, number>[] = []
  const attacked = await probe.measure(async () => {
    counts = await Promise.all([
      flood(1500, 150, (i) => handshake(server.port, valid, i % 2 === 0)),
      flood(300, 30, (i) => handshake(server.port, i % 2 === 0 ? oldVersion : noKey, false)),
      // The hook never answers: each waits upgradeTimeout (500 ms here), then 503.
      flood(300, 150, () => handshake(server.port, stalled, false)),
    ])
  })
  const during = await server.stats()
  assert.deepEqual(counts[0], { 101: 1500 })
  assert.deepEqual(counts[1], { 400: 150, 426: 150 })
  assert.deepEqual(counts[2], { 503: 300 })
  // Every connection that opened has closed again (the close hook ran for each); the probe's stays.
  for (let i = 0; i < 100 && (await server.stats()).wsOpen > 1; i++) await sleep(50)
  const end = await server.stats()
  assert.equal(end.wsOpen, 1)
  assert.equal(
    Object.values(end.wsCloses).reduce((a, b) => a + b, 0),
    1500,
  )
  t.diagnostic(assertService(quiet, attacked, 10))
  t.diagnostic(assertPeakWithin(before, during, 64))
  assertHeapBack(before, await server.settled(), 8)
})
