// A client that pings as fast as it can and never reads its pongs: every ping is answered with a
// pong, so without a bound the answers pile up in the server's memory (measured before the fix:
// 530 MB of pongs held after 5 s). Pongs count against `maxBackpressure` like any other send.
import assert from 'node:assert/strict'
import type { Socket } from 'node:net'
import { test } from 'node:test'
import type { ServerWebSocket } from './connection.ts'
import { GOOD, rawHandshake, serve } from './test-utils/test-support.ts'

/** `count` masked pings of 125 bytes each, as one buffer. */
function pings(count: number): Buffer {
  const one = Buffer.concat([Buffer.from([0x89, 0x80 | 125, 0, 0, 0, 0]), Buffer.alloc(125, 0x61)])
  return Buffer.concat(Array.from({ length: count }, () => one))
}

/** Writes `burst` until `stop()` says so, the socket closes or `ms` pass; resolves with the bytes written. */
function flood(socket: Socket, burst: Buffer, ms: number, stop: () => boolean): Promise<number> {
  return new Promise((resolve) => {
    let written = 0
    let over = false
    const end = () => {
      if (over) return
      over = true
      clearTimeout(timer)
      clearInterval(poll)
      resolve(written)
    }
    // By the clock, not by 'drain': a server that stops reading must not hang the test.
    const timer = setTimeout(end, ms)
    const poll = setInterval(() => {
      if (stop()) end()
    }, 10)
    socket.once('close', end)
    socket.on('error', end)
    const deadline = Date.now() + ms
    const pump = () => {
      // The clock is checked here too: writes that never block must not keep the timer from firing.
      while (!over && !socket.destroyed && Date.now() < deadline && !stop()) {
        written += burst.length
        if (!socket.write(burst)) {
          socket.once('drain', pump)
          return
        }
      }
    }
    pump()
  })
}

/** Reads what the server sent until it closed; resolves with the last close frame's code. */
function closeCodeOf(socket: Socket, rest: Buffer): Promise<number> {
  return new Promise((resolve) => {
    let buf = rest
    let code = 0
    const parse = () => {
      let at = 0
      while (buf.length - at >= 2) {
        const len = buf[at + 1]! & 0x7f
        if (len > 125 || buf.length - at < 2 + len) break
        if ((buf[at]! & 0x0f) === 0x8 && len >= 2) code = buf.readUInt16BE(at + 2)
        at += 2 + len
      }
      buf = buf.subarray(at)
    }
    socket.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c])
      parse()
    })
    socket.on('close', () => resolve(code))
  })
}

test('a client that pings without reading the pongs is closed with 1013 and the server holds at most maxBackpressure', async () => {
  let server!: ServerWebSocket<undefined>
  let code = 0
  let most = 0
  const limit = 64 * 1024
  const { port } = await serve((a) =>
    a.ws('/ws', {
      maxBackpressure: limit,
      open: (ws) => {
        server = ws
      },
      ping: (ws) => {
        most = Math.max(most, ws.bufferedAmount)
      },
      close: (_ws, c) => {
        code = c
      },
    }),
  )
  const { socket, rest } = await rawHandshake(port, GOOD)
  socket.pause()
  while (!server) await new Promise((r) => setTimeout(r, 5))
  const closed = closeCodeOf(socket, rest)
  socket.pause() // not reading yet: the pongs have nowhere to go but the server's memory
  // Until the server gives up on it (it must, within the deadline).
  await flood(socket, pings(200), 10_000, () => server.readyState !== 1)
  assert.notEqual(server.readyState, 1, 'the server closed the flooding connection')
  // At most the limit, one pong, and what one read of pings answers before the check runs.
  assert.ok(most <= limit + 200 * 127 + 127, `the server held ${most} bytes of pongs`)
  socket.resume()
  assert.equal(await closed, 1013) // read now: the pongs so far, then the close frame
  while (code === 0) await new Promise((r) => setTimeout(r, 5))
  assert.equal(code, 1013, `server-side close code ${code}`)
})

test("under backpressurePolicy 'drop' the pongs of an unread ping flood are dropped and counted; the connection stays", async () => {
  let server!: ServerWebSocket<undefined>
  let most = 0
  const limit = 64 * 1024
  const { port } = await serve((a) =>
    a.ws('/ws', {
      maxBackpressure: limit,
      backpressurePolicy: 'drop',
      open: (ws) => {
        server = ws
      },
      ping: (ws) => {
        most = Math.max(most, ws.bufferedAmount)
      },
    }),
  )
  const { socket } = await rawHandshake(port, GOOD)
  socket.pause()
  while (!server) await new Promise((r) => setTimeout(r, 5))
  await flood(socket, pings(200), 1500, () => false)
  assert.ok(most <= limit + 200 * 127 + 127, `the server held ${most} bytes of pongs`)
  assert.ok(server.dropped > 0, 'dropped pongs are counted')
  assert.equal(server.readyState, 1)
  socket.destroy()
})
