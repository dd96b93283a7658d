// Slowloris: many connections that send their request a byte at a time and never finish it.
// Headers are bounded by `headersTimeout`, bodies by `requestTimeout` (both shortened here from
// 30 s and 120 s so the test takes seconds; the property is the same): each such connection is
// answered 408 and closed on time, the server's memory stays bounded, and a well-behaved
// WebSocket client in another process keeps its round trips.
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

const HEADERS_TIMEOUT = 1000
const REQUEST_TIMEOUT = 2000

interface Trickled {
  status: number
  /** ms from the first byte to the server closing the connection (NaN: still open). */
  closedAfter: number
}

/**
 * Sends `head` at once, then one more byte of `drip` every `everyMs` until the server closes the
 * connection or `giveUpMs` pass; resolves with the status the server answered and when it closed.
 */
function trickle(port: number, head: string, drip: string, everyMs: number, giveUpMs: number) {
  return new Promise<Trickled>((resolve) => {
    const t0 = Date.now()
    const socket = connect(port, '127.0.0.1')
    let got = ''
    let i = 0
    const timer = setInterval(() => {
      if (!socket.destroyed) socket.write(drip[i++ % drip.length]!)
    }, everyMs)
    const done = () => {
      clearInterval(timer)
      clearTimeout(giveUp)
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0)
      resolve({ status, closedAfter: socket.destroyed ? Date.now() - t0 : Number.NaN })
    }
    const giveUp = setTimeout(() => {
      socket.destroy()
      resolve({ status: 0, closedAfter: Number.NaN })
      clearInterval(timer)
    }, giveUpMs)
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => {
      got += d
    })
    socket.on('error', () => {})
    socket.on('close', done)
    socket.write(head)
  })
}

/**
 * Every answer that arrived is 408. A connection may see none: the client keeps sending after
 * the server's answer, and a socket closed with unread input is reset by the kernel, which can
 * discard the 408 before the client reads it (under heavy load a majority can lose it).
 */
function assertTimedOut(results: Trickled[]): void {
  const statuses = new Set(results.map((r) => r.status))
  statuses.delete(0)
  assert.deepEqual([...statuses], [408])
  const answered = results.filter((r) => r.status === 408).length
  assert.ok(answered >= 1, `${answered} of ${results.length} read their 408`)
}

const server = await startServer({
  headersTimeout: HEADERS_TIMEOUT,
  requestTimeout: REQUEST_TIMEOUT,
})
const probe = await startProbe(server.port, 'echo')
after(async () => {
  probe.close()
  await server.close()
})

test('300 connections trickling their headers a byte at a time are answered 408 and closed after headersTimeout; memory stays bounded and a WebSocket client keeps its round trips', async (t) => {
  const quiet = await probe.measure(() => sleep(1000))
  const before = await server.settled()
  await server.resetPeak()
  const results: Trickled[] = []
  const attacked = await probe.measure(async () => {
    const runs: Promise<Trickled>[] = []
    for (let i = 0; i < 300; i++) {
      // A third are WebSocket upgrades: their head is read by the same parser, with the same bound.
      const head =
        i % 3 === 0
          ? 'GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
          : 'GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n'
      runs.push(trickle(server.port, head, 'X-Slow: aaaaaaaaaaaaaaaaaaaaaa\r\n', 50, 10_000))
    }
    results.push(...(await Promise.all(runs)))
  })
  const during = await server.stats()
  assertTimedOut(results)
  for (const r of results) {
    // The deadline, plus the server's checking interval (250 ms), plus a shared 2-core machine;
    // without the bound they would trickle on until the test gives up at 10 s.
    assert.ok(r.closedAfter <= HEADERS_TIMEOUT + 4000, `closed after ${r.closedAfter} ms`)
  }
  t.diagnostic(assertService(quiet, attacked, 10))
  t.diagnostic(assertPeakWithin(before, during, 64))
  assertHeapBack(before, await server.settled(), 8)
})

test('100 request bodies trickled a byte at a time are answered 408 after requestTimeout; a WebSocket client keeps its round trips', async (t) => {
  const quiet = await probe.measure(() => sleep(1000))
  const before = await server.settled()
  await server.resetPeak()
  const results: Trickled[] = []
  const attacked = await probe.measure(async () => {
    const runs: Promise<Trickled>[] = []
    const head =
      'POST /body HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n' +
      'Content-Length: 1000000\r\n\r\n'
    for (let i = 0; i < 100; i++) runs.push(trickle(server.port, head, 'b', 20, 10_000))
    results.push(...(await Promise.all(runs)))
  })
  const during = await server.stats()
  assertTimedOut(results)
  for (const r of results) {
    assert.ok(r.closedAfter <= REQUEST_TIMEOUT + 4000, `closed after ${r.closedAfter} ms`)
  }
  t.diagnostic(assertService(quiet, attacked, 10))
  t.diagnostic(assertPeakWithin(before, during, 64))
  assertHeapBack(before, await server.settled(), 8)
})
