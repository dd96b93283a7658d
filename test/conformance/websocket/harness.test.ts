/**
 * Tests of the conformance harness itself: framing round trips, delivery modes that write every
 * byte exactly once, and proof that the judge catches a deliberately broken server (a `ws`
 * server with UTF-8 validation off and a 1 KiB maxPayload), so a green suite means something.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { describe, test } from 'node:test'
import { WebSocketServer } from 'ws'
import { type Case, judge, runCase } from './case.ts'
import { allCases } from './cases/index.ts'
import { deliver, MODES, seededRandom } from './delivery.ts'
import { encodeFrame, FrameReader, Opcode } from './frame.ts'

describe('conformance harness', () => {
  test('parses every frame it encodes, at each length boundary, fed one byte at a time', () => {
    for (const n of [0, 1, 125, 126, 65535, 65536]) {
      for (const masked of [true, false]) {
        const payload = Buffer.alloc(n, n & 0xff)
        const bytes = encodeFrame({
          opcode: Opcode.binary,
          payload,
          masked,
          fin: n % 2 === 0,
          rsv: 4,
        })
        const reader = new FrameReader()
        let frame = null
        for (let i = 0; i < bytes.length && frame === null; i++) {
          reader.push(bytes.subarray(i, i + 1))
          frame = reader.next()
        }
        assert.ok(frame, `length ${n} parsed`)
        assert.equal(frame.masked, masked)
        assert.equal(frame.fin, n % 2 === 0)
        assert.equal(frame.rsv, 4)
        assert.ok(frame.payload.equals(payload), `payload of length ${n} round-trips`)
      }
    }
  })

  test('writes exactly the bytes of every unit once, in order, in all four delivery modes', async () => {
    const units = [Buffer.alloc(3, 1), Buffer.alloc(20_000, 2), Buffer.from('tail')]
    const expected = Buffer.concat(units)
    for (const mode of MODES) {
      const received: Buffer[] = []
      const server = createServer((s) => s.on('data', (c: Buffer) => received.push(c)))
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      const port = (server.address() as { port: number }).port
      const { connect } = await import('node:net')
      const socket = connect({ port, host: '127.0.0.1' })
      await new Promise((r) => socket.once('connect', r))
      await deliver(socket, units, mode, seededRandom(mode), () => true)
      await new Promise<void>((r) => socket.end(r))
      await new Promise((r) => setTimeout(r, 50))
      server.close()
      assert.ok(Buffer.concat(received).equals(expected), `${mode} delivered the exact bytes`)
    }
  })

  test('fails the cases a lenient server gets wrong (no UTF-8 check, 1 KiB maxPayload)', async () => {
    const server = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      maxPayload: 1024,
      skipUTF8Validation: true,
    })
    server.on('connection', (ws) => {
      ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }))
      ws.on('error', () => {})
    })
    await new Promise((r) => server.once('listening', r))
    const port = (server.address() as { port: number }).port
    const byId = new Map(allCases().map((c) => [c.id, c] as const))
    const run = async (id: string) => {
      // A short deadline: the broken server often just stays silent.
      const c: Case = { ...byId.get(id)!, deadlineMs: 800 }
      return judge(c.expect, await runCase(port, c, 'whole', 'harness'))
    }
    try {
      assert.deepEqual(await run('6.1.2'), [], 'valid UTF-8 still passes')
      assert.notDeepEqual(await run('6.4.11'), [], 'an echoed surrogate is caught')
      assert.notDeepEqual(await run('7.2.5'), [], 'an invalid close reason is caught')
      assert.notDeepEqual(await run('1.1.8'), [], 'a refused 64 KiB message is caught')
    } finally {
      for (const ws of server.clients) ws.terminate()
      server.close()
    }
  })
})
