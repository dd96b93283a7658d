/**
 * Resource tests: what a hostile or slow client can make the server hold. A fixture app built
 * with `app.ws` (in this process, so server-side numbers can be read) plus the testee and the
 * `ws` control for the message-level limits. Every wait has a deadline.
 */
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, describe, test } from 'node:test'
import zlib from 'node:zlib'
import { BUFFERED, DROPPED, SENT, type ServerWebSocket, Switchboard } from '../../../src/index.ts'
import { f, fragments } from './build.ts'
import { RawClient, upgradeRequest } from './client.ts'
import { MessageInflater, parseDeflateResponse } from './deflate.ts'
import { Opcode } from './frame.ts'
import { startTarget, type Target, type TargetName, testeeExists } from './targets.ts'

const KiB = 1024
const MAX_BACKPRESSURE = 64 * KiB
const CHUNK = Buffer.alloc(KiB, 0x61)

interface FloodStats {
  statuses: [number, number, number]
  maxBuffered: number
  dropped: number
  closeCode: number | null
  done: Promise<void>
}

/** Sends 1 KiB binary messages for `ms` milliseconds, recording every send status. */
/**
 * Sends 1 KiB messages, 64 per timer tick, to a client that does not read, until the server's
 * policy shows (8 sends refused, or the connection closed) or 64 MiB were accepted, within 10 s.
 * Driven by bytes, not by time: on a loaded machine a time-boxed flood may never fill the kernel's
 * socket buffers.
 */
function flood(ws: ServerWebSocket<undefined>, stats: FloodStats, finish: () => void): void {
  const end = Date.now() + 10_000
  const tick = () => {
    for (let i = 0; i < 64 && ws.readyState === 1; i++) {
      const status = ws.send(CHUNK, true)
      stats.statuses[status]++
      stats.maxBuffered = Math.max(stats.maxBuffered, ws.bufferedAmount)
    }
    const accepted = (stats.statuses[SENT] + stats.statuses[BUFFERED]) * CHUNK.length
    const done = stats.statuses[DROPPED] >= 8 || accepted >= 64 * 1024 * KiB
    if (!done && Date.now() < end && ws.readyState === 1) setTimeout(tick, 1)
    else {
      stats.dropped = ws.dropped
      finish()
    }
  }
  tick()
}

function newStats(): { stats: FloodStats; finish: () => void } {
  let finish!: () => void
  const done = new Promise<void>((r) => {
    finish = r
  })
  return {
    stats: { statuses: [0, 0, 0], maxBuffered: 0, dropped: 0, closeCode: null, done },
    finish,
  }
}

async function openRaw(
  port: number,
  path: string,
  headers: Array<[string, string]> = [],
  configure?: (client: RawClient) => void,
): Promise<RawClient> {
  const deadline = Date.now() + 3000
  const client = await RawClient.connect(port, deadline)
  configure?.(client)
  client.socket.write(Buffer.concat(upgradeRequest({ path, headers })))
  await client.waitFor(() => client.head !== null, deadline)
  assert.ok(client.head, 'an HTTP response arrived')
  return client
}

describe('resource limits', () => {
  const app = new Switchboard({ logger: false, headersTimeout: 1000, requestTimeout: 5000 })
  const dropFlood = newStats()
  const closeFlood = newStats()
  let port = 0
  const targets: Target[] = []

  app.ws('/echo', {
    maxPayload: 64 * KiB,
    compression: true,
    message: (ws, data, isBinary) => {
      ws.send(data, isBinary)
    },
  })
  app.ws('/flood-drop', {
    maxBackpressure: MAX_BACKPRESSURE,
    backpressurePolicy: 'drop',
    open: (ws) => flood(ws, dropFlood.stats, dropFlood.finish),
  })
  app.ws('/flood-close', {
    maxBackpressure: MAX_BACKPRESSURE,
    open: (ws) => flood(ws, closeFlood.stats, closeFlood.finish),
    close: (_ws, code) => {
      closeFlood.stats.closeCode = code
    },
  })
  app.ws('/idle', { idleTimeout: 0.6, message: (ws, d, b) => void ws.send(d, b) })
  app.ws('/closing', { closeTimeout: 300, open: (ws) => ws.close(4000, 'server first') })
  app.ws('/fragments', { maxFragments: 100, message: (ws, d, b) => void ws.send(d, b) })
  app.ws('/proto', { subprotocols: ['chat', 'v2'], message: (ws, d, b) => void ws.send(d, b) })
  app.ws('/stall', { upgradeTimeout: 300, upgrade: () => new Promise<undefined>(() => {}) })
  app.ws('/origin', {
    allowedOrigins: ['https://good.example'],
    message: (ws, d, b) => void ws.send(d, b),
  })

  before(async () => {
    port = (await app.listen({ port: 0, host: '127.0.0.1' })).port
    const names: TargetName[] = testeeExists() ? ['switchboard', 'ws'] : ['ws']
    for (const name of names) targets.push(await startTarget(name))
  })
  after(async () => {
    await app.close({ graceful: 200 })
    await Promise.all(targets.map((t) => t.stop()))
  })

  test('echoes one message sent as 10,000 one-byte fragments, on the testee and the ws control', async () => {
    const body = Buffer.alloc(10_000, 0x7a)
    const frames = Buffer.concat([...fragments(Opcode.text, body, 1), f.close(1000)])
    for (const target of targets) {
      const started = Date.now()
      const client = await openRaw(target.port, '/')
      client.sentClose = true
      client.socket.write(frames)
      await client.waitFor(() => client.tcpClosed, Date.now() + 5000)
      client.destroy()
      assert.deepEqual(client.violations, [], target.name)
      assert.equal(client.events.length, 1, `${target.name} echoed the message`)
      assert.ok(client.events[0]!.data.equals(body), `${target.name} echoed the exact bytes`)
      assert.equal(client.closeFrame?.code, 1000, `${target.name} answered the close`)
      assert.ok(Date.now() - started < 5000, `${target.name} took ${Date.now() - started} ms`)
    }
  })

  test('keeps bufferedAmount within maxBackpressure and drops the excess for a client that never reads', async () => {
    const client = await openRaw(port, '/flood-drop')
    assert.equal(client.head!.status, 101)
    client.socket.pause()
    await withDeadline(dropFlood.stats.done, 15_000, 'flood')
    const s = dropFlood.stats
    const accepted = s.statuses[SENT] + s.statuses[BUFFERED]
    assert.ok(s.statuses[DROPPED] > 0, `some sends were dropped (statuses ${s.statuses})`)
    assert.equal(s.dropped, s.statuses[DROPPED], 'ws.dropped counts every DROPPED send')
    assert.ok(
      s.maxBuffered <= MAX_BACKPRESSURE + CHUNK.length + 14,
      `bufferedAmount peaked at ${s.maxBuffered}, limit ${MAX_BACKPRESSURE} + one message`,
    )
    // Reading again delivers exactly the accepted messages, in order, and nothing else.
    client.socket.resume()
    const got = await client.waitFor(() => client.events.length >= accepted, Date.now() + 5000)
    client.destroy()
    assert.ok(got, `received ${client.events.length} of ${accepted} accepted messages`)
    assert.equal(client.events.length, accepted)
    assert.ok(client.events.every((e) => e.type === 'binary' && e.data.equals(CHUNK)))
  })

  test("closes a client that never reads with 1013 under the default 'close' policy", async () => {
    const client = await openRaw(port, '/flood-close')
    assert.equal(client.head!.status, 101)
    client.socket.pause()
    await withDeadline(closeFlood.stats.done, 15_000, 'flood')
    const s = closeFlood.stats
    assert.ok(
      s.statuses[DROPPED] >= 1,
      `the send over the limit was refused (statuses ${s.statuses})`,
    )
    assert.ok(
      s.maxBuffered <= MAX_BACKPRESSURE + CHUNK.length + 14,
      `bufferedAmount peaked at ${s.maxBuffered}`,
    )
    client.socket.resume()
    await client.waitFor(() => client.tcpClosed, Date.now() + 8000)
    client.destroy()
    for (let i = 0; i < 100 && s.closeCode === null; i++)
      await new Promise((r) => setTimeout(r, 10))
    assert.equal(s.closeCode, 1013, 'the close hook saw 1013')
    if (client.closeFrame) assert.equal(client.closeFrame.code, 1013, 'the client got close 1013')
  })

  test('refuses a deflate bomb with 1009 at the route maxPayload and stays up', async () => {
    const client = await openRaw(port, '/echo', [
      ['Sec-WebSocket-Extensions', 'permessage-deflate'],
    ])
    assert.equal(client.head!.status, 101)
    const neg = parseDeflateResponse(client.head!.get('sec-websocket-extensions'))
    assert.ok(neg, 'deflate negotiated')
    client.inflater = new MessageInflater(neg.serverMaxWindowBits, neg.serverNoContextTakeover)
    const bomb = zlib.deflateRawSync(Buffer.alloc(64 * 1024 * 1024), {
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    })
    assert.ok(bomb.length < 128 * KiB, `the bomb is small on the wire (${bomb.length} bytes)`)
    client.socket.write(f.binary(bomb.subarray(0, -4), { rsv: 4 }))
    await client.waitFor(() => client.tcpClosed, Date.now() + 5000)
    client.destroy()
    assert.equal(client.closeFrame?.code, 1009)
    const again = await openRaw(port, '/echo')
    again.destroy()
    assert.equal(again.head!.status, 101, 'the server still accepts connections')
  })

  test('pings an idle client, keeps it while it answers, and closes a silent one with 1001', async () => {
    const alive = await openRaw(port, '/idle')
    const dead = await openRaw(port, '/idle')
    dead.answerPings = false
    await alive.waitFor(() => alive.tcpClosed, Date.now() + 1500)
    await dead.waitFor(() => dead.tcpClosed, Date.now() + 1500)
    alive.destroy()
    dead.destroy()
    assert.ok(
      alive.pingsReceived >= 2,
      `the answering client got ${alive.pingsReceived} pings in 1.5 s`,
    )
    assert.equal(alive.closeFrame, null, 'a client that answers pings is kept')
    assert.ok(dead.pingsReceived >= 1, 'the silent client was pinged')
    assert.equal(dead.closeFrame?.code, 1001, 'the silent client is closed with 1001')
  })

  test('drops the TCP connection when the client never answers the close frame (closeTimeout 300 ms)', async () => {
    const started = Date.now()
    const client = await openRaw(port, '/closing', [], (c) => {
      c.answerClose = false
    })
    await client.waitFor(() => client.tcpClosed, Date.now() + 3000)
    client.destroy()
    assert.equal(client.closeFrame?.code, 4000)
    assert.ok(client.tcpClosed, 'the server closed the TCP connection')
    const elapsed = Date.now() - started
    assert.ok(
      elapsed >= 250,
      `closed after ${elapsed} ms: the server did not wait for the close reply`,
    )
    assert.ok(elapsed < 1500, `closed after ${elapsed} ms`)
  })

  test('refuses a message split into more fragments than maxFragments with 1009', async () => {
    const ok = await openRaw(port, '/fragments')
    ok.sentClose = true
    ok.socket.write(
      Buffer.concat([...fragments(Opcode.binary, Buffer.alloc(100, 1), 1), f.close(1000)]),
    )
    await ok.waitFor(() => ok.tcpClosed, Date.now() + 3000)
    ok.destroy()
    assert.equal(ok.events.length, 1, '100 fragments are within the limit')
    const over = await openRaw(port, '/fragments')
    over.socket.write(Buffer.concat(fragments(Opcode.binary, Buffer.alloc(101, 1), 1)))
    await over.waitFor(() => over.tcpClosed, Date.now() + 3000)
    over.destroy()
    assert.equal(over.events.length, 0)
    assert.equal(over.closeFrame?.code, 1009)
  })

  test("answers with the client's first offered subprotocol that the route speaks, and never another", async () => {
    const picked = await openRaw(port, '/proto', [
      ['Sec-WebSocket-Protocol', 'superchat, v2, chat'],
    ])
    picked.destroy()
    assert.equal(picked.head!.status, 101)
    assert.equal(picked.head!.get('sec-websocket-protocol'), 'v2')
    const none = await openRaw(port, '/proto', [['Sec-WebSocket-Protocol', 'superchat']])
    none.destroy()
    if (none.head!.status === 101) assert.equal(none.head!.get('sec-websocket-protocol'), undefined)
  })

  test('answers 503 when the upgrade hook stalls past upgradeTimeout', async () => {
    const started = Date.now()
    const client = await openRaw(port, '/stall')
    client.destroy()
    assert.equal(client.head!.status, 503)
    assert.ok(
      Date.now() - started < 2000,
      `answered after ${Date.now() - started} ms (upgradeTimeout 300)`,
    )
  })

  test('refuses a disallowed Origin with 403 and accepts an allowed one', async () => {
    const bad = await openRaw(port, '/origin', [['Origin', 'https://evil.example']])
    bad.destroy()
    assert.equal(bad.head!.status, 403)
    const good = await openRaw(port, '/origin', [['Origin', 'https://good.example']])
    good.destroy()
    assert.equal(good.head!.status, 101)
  })

  test('cuts a slowloris handshake that trickles header bytes, soon after headersTimeout (1 s)', async () => {
    const socket = connect({ port, host: '127.0.0.1' })
    await new Promise((resolve) => socket.once('connect', resolve))
    socket.on('error', () => {})
    socket.write('GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ')
    const started = Date.now()
    let closed = false
    socket.once('close', () => {
      closed = true
    })
    while (!closed && Date.now() - started < 4000) {
      socket.write('a')
      await new Promise((r) => setTimeout(r, 100))
    }
    const elapsed = Date.now() - started
    socket.destroy()
    assert.ok(closed, `the connection was still open after ${elapsed} ms of trickling`)
    assert.ok(elapsed < 4000, `cut after ${elapsed} ms; headersTimeout is 1000 ms`)
  })
})

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)
  })
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer))
}
