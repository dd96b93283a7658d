// A compression bomb over a long connection (permessage-deflate with context takeover): 120
// messages of about 500 bytes on the wire that each inflate to 256 KiB (under maxPayload, so taken), then
// one of about 8 KB that inflates to 8 MiB (over maxPayload: 1009 as soon as the inflated bytes pass
// the limit). The server's memory stays bounded, because inflated bytes are counted as they come
// out, and a well-behaved client keeps its round trips.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { constants, createDeflateRaw, type DeflateRaw } from 'node:zlib'
import { closeCode, frame, openRaw } from './support/frames.ts'
import {
  assertHeapBack,
  assertPeakWithin,
  assertService,
  sleep,
  startProbe,
  startServer,
} from './support/harness.ts'

const MAX_PAYLOAD = 1024 * 1024
const server = await startServer({ sink: { compression: true, closeTimeout: 1000 } })
const probe = await startProbe(server.port, 'echo')
after(async () => {
  probe.close()
  await server.close()
})

/** Compresses one message on a shared stream (context takeover), RFC 7692 §7.2.1: without the
 * trailing 00 00 ff ff of the sync flush. */
function compress(deflate: DeflateRaw, data: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = []
    const onData = (d: Buffer) => parts.push(d)
    deflate.on('data', onData)
    deflate.write(data)
    deflate.flush(constants.Z_SYNC_FLUSH, () => {
      deflate.off('data', onData)
      const all = Buffer.concat(parts)
      resolve(all.subarray(0, all.length - 4))
    })
  })
}

test('120 messages that each inflate 256 KiB are taken and one that inflates 8 MiB closes with 1009; memory stays bounded and a client keeps its round trips', async (t) => {
  const quiet = await probe.measure(() => sleep(1000))
  const before = await server.settled()
  await server.resetPeak()
  const { socket, head } = await openRaw(
    server.port,
    '/sink',
    'Sec-WebSocket-Extensions: permessage-deflate\r\n',
  )
  assert.match(head, /permessage-deflate/i)
  const deflate = createDeflateRaw({ level: 6 })
  // Not all zeros: a varied but repetitive text, so each message is a few hundred wire bytes.
  const big = Buffer.from('abcdefghij'.repeat((256 * 1024) / 10 + 1)).subarray(0, 256 * 1024)
  let wire = 0
  let code = 0
  const attacked = await probe.measure(async () => {
    const closed = closeCode(socket)
    for (let i = 0; i < 120; i++) {
      const f = frame(0x1, await compress(deflate, big), true, true)
      wire += f.length
      if (!socket.write(f)) await new Promise((r) => socket.once('drain', r))
    }
    // Wait until all 120 arrived whole, then the bomb.
    for (let i = 0; i < 400 && (await server.stats()).sinkBytes < 120 * big.length; i++)
      await sleep(25)
    const bomb = await compress(deflate, Buffer.alloc(8 * MAX_PAYLOAD))
    socket.write(frame(0x2, bomb, true, true))
    code = await closed
  })
  const during = await server.stats()
  assert.equal(
    during.sinkBytes,
    120 * big.length,
    'every message under the limit was inflated whole',
  )
  assert.ok(wire < (120 * big.length) / 50, `the 120 messages took ${wire} wire bytes`)
  assert.equal(code, 1009)
  // The server's close hook runs once the TCP connection is gone, a moment after its close frame.
  for (let i = 0; i < 100 && !(await server.stats()).sinkCloses[1009]; i++) await sleep(50)
  assert.equal((await server.stats()).sinkCloses[1009], 1)
  t.diagnostic(`wire ${wire} bytes for ${120 * big.length} inflated`)
  t.diagnostic(assertService(quiet, attacked, 10))
  t.diagnostic(assertPeakWithin(before, during, 64))
  deflate.close()
  assertHeapBack(before, await server.settled(), 8)
})
