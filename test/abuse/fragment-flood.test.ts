// Fragment floods: a message cut into more frames than `maxFragments` (one-byte fragments, and
// empty ones) is closed with 1009, and a stream of heavily fragmented messages within the limits
// is taken without the server's memory growing. A well-behaved client keeps its round trips.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { closeCode, frame, openRaw } from './support/frames.ts'
import {
  assertHeapBack,
  assertPeakWithin,
  assertService,
  sleep,
  startProbe,
  startServer,
} from './support/harness.ts'

const MAX_FRAGMENTS = 65_536 // the default
const server = await startServer({ sink: { closeTimeout: 1000 } })
const probe = await startProbe(server.port, 'echo')
after(async () => {
  probe.close()
  await server.close()
})

/** A text message of `n` fragments carrying `piece` each (the first frame opens it, the last has FIN). */
function fragmented(n: number, piece: Buffer): Buffer {
  const parts = [frame(0x1, piece, false)]
  const mid = frame(0x0, piece, false)
  for (let i = 1; i < n - 1; i++) parts.push(mid)
  parts.push(frame(0x0, piece, true))
  return Buffer.concat(parts)
}

test('70,000 one-byte fragments and 70,000 empty ones each close with 1009; 400 messages of 1,000 fragments are taken; memory stays bounded and a client keeps its round trips', async (t) => {
  const quiet = await probe.measure(() => sleep(1000))
  const before = await server.settled()
  await server.resetPeak()
  const codes: number[] = []
  const attacked = await probe.measure(async () => {
    const bytes = await openRaw(server.port, '/sink')
    const empty = await openRaw(server.port, '/sink')
    const many = await openRaw(server.port, '/sink')
    const closes = [closeCode(bytes.socket), closeCode(empty.socket)]
    bytes.socket.write(fragmented(MAX_FRAGMENTS + 4464, Buffer.from('a')))
    empty.socket.write(fragmented(MAX_FRAGMENTS + 4464, Buffer.alloc(0)))
    // Within the limits: every message whole, 1,000 fragments of 16 bytes each.
    const message = fragmented(1000, Buffer.alloc(16, 0x62))
    for (let i = 0; i < 400; i++) {
      if (!many.socket.write(message)) await new Promise((r) => many.socket.once('drain', r))
    }
    codes.push(...(await Promise.all(closes)))
    many.socket.end(frame(0x8, Buffer.from([0x03, 0xe8])))
    await closeCode(many.socket)
  })
  const during = await server.stats()
  assert.deepEqual(codes, [1009, 1009])
  assert.equal(
    during.sinkBytes,
    400 * 1000 * 16,
    'every fragmented message within the limits arrived whole',
  )
  t.diagnostic(assertService(quiet, attacked, 10))
  t.diagnostic(assertPeakWithin(before, during, 64))
  assertHeapBack(before, await server.settled(), 8)
})
