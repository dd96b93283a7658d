import assert from 'node:assert/strict'
import { test } from 'node:test'
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib'
import { PerMessageDeflate, ZlibLimiter, zlibLimiter } from './deflate.ts'
import { type DeflateConfig, type DeflateParams, negotiateDeflate } from './deflate-params.ts'
import { parseExtensions } from './handshake.ts'
import { resolveWsRoute } from './route.ts'

const CFG: DeflateConfig = resolveWsRoute({ compression: true }).rules.compression!

function negotiate(header: string, cfg: Partial<DeflateConfig> = {}) {
  return negotiateDeflate(parseExtensions(header)!, { ...CFG, ...cfg })?.header ?? null
}

test('accepts a bare offer with no parameters in the answer', () => {
  assert.equal(negotiate('permessage-deflate'), 'permessage-deflate')
})

test('honours server_no_context_takeover and may add client_no_context_takeover', () => {
  assert.equal(
    negotiate('permessage-deflate; server_no_context_takeover'),
    'permessage-deflate; server_no_context_takeover',
  )
  assert.equal(
    negotiate('permessage-deflate', { clientNoContextTakeover: true }),
    'permessage-deflate; client_no_context_takeover',
  )
  assert.equal(
    negotiate('permessage-deflate; client_no_context_takeover'),
    'permessage-deflate; client_no_context_takeover',
  )
})

test('answers server_max_window_bits no larger than offered, and limits itself when configured', () => {
  assert.equal(
    negotiate('permessage-deflate; server_max_window_bits=10'),
    'permessage-deflate; server_max_window_bits=10',
  )
  assert.equal(
    negotiate('permessage-deflate; server_max_window_bits=12', { serverMaxWindowBits: 9 }),
    'permessage-deflate; server_max_window_bits=9',
  )
  assert.equal(
    negotiate('permessage-deflate', { serverMaxWindowBits: 11 }),
    'permessage-deflate; server_max_window_bits=11',
  )
})

test('names client_max_window_bits only when the client offered it', () => {
  assert.equal(negotiate('permessage-deflate; client_max_window_bits'), 'permessage-deflate')
  assert.equal(
    negotiate('permessage-deflate; client_max_window_bits', { clientMaxWindowBits: 10 }),
    'permessage-deflate; client_max_window_bits=10',
  )
  assert.equal(
    negotiate('permessage-deflate; client_max_window_bits=9'),
    'permessage-deflate; client_max_window_bits=9',
  )
  assert.equal(negotiate('permessage-deflate', { clientMaxWindowBits: 10 }), 'permessage-deflate')
})

test('declines offers with values outside 8-15, unknown or repeated parameters, and takes the next', () => {
  for (const bad of [
    'permessage-deflate; server_max_window_bits=7',
    'permessage-deflate; server_max_window_bits=16',
    'permessage-deflate; server_max_window_bits=010',
    'permessage-deflate; server_max_window_bits',
    'permessage-deflate; client_max_window_bits=99999999999999999999',
    'permessage-deflate; server_no_context_takeover=1',
    'permessage-deflate; unknown',
    'permessage-deflate; server_no_context_takeover; server_no_context_takeover',
    'x-webkit-deflate-frame',
  ]) {
    assert.equal(negotiate(bad), null, bad)
  }
  assert.equal(
    negotiate(
      'permessage-deflate; server_max_window_bits=7, permessage-deflate; client_max_window_bits',
    ),
    'permessage-deflate',
  )
})

const PARAMS: DeflateParams = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
  header: 'permessage-deflate',
}

function harness(params = PARAMS) {
  const events: unknown[] = []
  let wake: () => void = () => {}
  const owner = {
    inflated(d: Buffer) {
      events.push(['inflated', d.toString()])
      wake()
    },
    inflateFailed(code: string) {
      events.push(['failed', code])
      wake()
    },
    deflated(p: Buffer, isBinary: boolean, compressed: boolean) {
      events.push(['deflated', compressed ? inflate(p) : p.toString(), isBinary, compressed])
      wake()
    },
  }
  const pmd = new PerMessageDeflate(owner, params, CFG)
  const next = (n = 1) =>
    new Promise<void>((resolve) => {
      const target = events.length + n
      wake = () => events.length >= target && resolve()
    })
  return { pmd, events, next }
}

function compress(s: string | Buffer): Buffer {
  const out = deflateRawSync(s, { finishFlush: constants.Z_SYNC_FLUSH })
  return out.subarray(0, out.length - 4)
}
function inflate(b: Buffer): string {
  return inflateRawSync(Buffer.concat([b, Buffer.from([0, 0, 0xff, 0xff])]), {
    finishFlush: constants.Z_SYNC_FLUSH,
  }).toString()
}

test('inflates a message split across frames, keeping context between messages', async () => {
  const { pmd, events, next } = harness()
  const whole = compress('hello hello hello')
  let p = next()
  pmd.inflate(whole.subarray(0, 5), false, 1000)
  await p
  p = next()
  pmd.inflate(whole.subarray(5), true, 1000)
  await p
  assert.equal(events.map((e) => (e as string[])[1]).join(''), 'hello hello hello')
  pmd.destroy()
})

test('stops a deflate bomb at the limit with 1009', async () => {
  const { pmd, events, next } = harness()
  const bomb = compress(Buffer.alloc(10 * 1024 * 1024))
  assert.ok(bomb.length < 20_000)
  const p = next()
  pmd.inflate(bomb, true, 64 * 1024)
  await p
  assert.deepEqual(events, [['failed', 'SWB_ERR_WS_MESSAGE_TOO_BIG']])
  pmd.destroy()
  assert.equal(zlibLimiter.active, 0)
})

test('fails corrupt compressed data with 1007', async () => {
  const { pmd, events, next } = harness()
  const p = next()
  pmd.inflate(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00]), true, 1000)
  await p
  assert.deepEqual(events, [['failed', 'SWB_ERR_WS_INFLATE_FAILED']])
  pmd.destroy()
})

test('keeps send order: an uncompressed message waits behind a compression', async () => {
  const { pmd, events, next } = harness()
  const p = next(3)
  pmd.send(Buffer.from('a'.repeat(2000)), false, true)
  pmd.send(Buffer.from('small'), false, false)
  pmd.send(Buffer.from('b'.repeat(2000)), true, true)
  assert.ok(pmd.busy)
  await p
  assert.deepEqual(events, [
    ['deflated', 'a'.repeat(2000), false, true],
    ['deflated', 'small', false, false],
    ['deflated', 'b'.repeat(2000), true, true],
  ])
  pmd.destroy()
})

test('each message stands alone under server_no_context_takeover', async () => {
  const { pmd, events, next } = harness({ ...PARAMS, serverNoContextTakeover: true })
  const p = next(2)
  pmd.send(Buffer.from('repeat me '.repeat(50)), false, true)
  pmd.send(Buffer.from('repeat me '.repeat(50)), false, true)
  await p
  assert.deepEqual(events[0], events[1]) // both inflate on their own, without shared context
  pmd.destroy()
})

test('the limiter runs at most `concurrency` jobs and starts the rest in order', () => {
  const l = new ZlibLimiter(2)
  const started: number[] = []
  const owners = [0, 1, 2, 3].map(
    (i) => ({ start: () => started.push(i) }) as unknown as PerMessageDeflate,
  )
  for (const o of owners) l.add(o, 0)
  assert.deepEqual(started, [0, 1])
  assert.equal(l.queued, 2)
  l.done()
  assert.deepEqual(started, [0, 1, 2])
  l.done()
  l.done()
  l.done()
  assert.deepEqual(started, [0, 1, 2, 3])
  assert.equal(l.active, 0)
})

test('a message ending in a BFINAL block is followed by a fresh stream, never an empty message (RFC 7692 §7.2.3.3; found by fuzzing)', async () => {
  const { pmd, events, next } = harness()
  // The first message ends its DEFLATE stream (BFINAL=1); the next one starts a new stream.
  let p = next()
  pmd.inflate(deflateRawSync(Buffer.from('first')), true, 1000)
  await p
  p = next()
  pmd.inflate(compress('second'), true, 1000)
  await p
  assert.deepEqual(events, [
    ['inflated', 'first'],
    ['inflated', 'second'],
  ])
  pmd.destroy()
  assert.equal(zlibLimiter.active, 0)
})
