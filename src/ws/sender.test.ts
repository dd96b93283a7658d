import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { OP_BINARY, OP_CLOSE, OP_PING, OP_TEXT } from './constants.ts'
import { Receiver, type ReceiverSink } from './receiver.ts'
import { closeFrame, frame, frameOne, frameString, prepareMessage } from './sender.ts'

const hex = (b: Buffer) => b.toString('hex')

test('frames "Hello" as the unmasked text frame of RFC 6455 §5.7', () => {
  assert.equal(hex(frameOne(OP_TEXT, Buffer.from('Hello'), false)), '810548656c6c6f')
})

test('uses the minimal length encoding at 125, 126, 65535 and 65536 bytes', () => {
  const head = (n: number) =>
    hex(frameOne(OP_BINARY, Buffer.alloc(n), false).subarray(0, n < 126 ? 2 : n < 65536 ? 4 : 10))
  assert.equal(head(125), '827d')
  assert.equal(head(126), '827e007e')
  assert.equal(head(65535), '827effff')
  assert.equal(head(65536), '827f0000000000010000')
})

test('does not copy payloads over 1 KiB: header and payload stay two buffers', () => {
  const payload = Buffer.alloc(2048, 1)
  const f = frame(OP_BINARY, payload, false)
  assert.ok(Array.isArray(f))
  assert.equal(f[1], payload)
})

test('sets RSV1 for a compressed message and builds close frames', () => {
  assert.equal(frameOne(OP_TEXT, Buffer.from('x'), true)[0], 0xc1)
  assert.equal(hex(closeFrame(1000, 'ok')), '880403e86f6b')
  assert.equal(hex(closeFrame(undefined, '')), '8800')
})

test('prepareMessage frames once; its payload is a view of the frame', () => {
  const p = prepareMessage('hi', false)
  assert.equal(hex(p.frame), '81026869')
  assert.equal(p.data.buffer, p.frame.buffer)
  assert.equal(prepareMessage(new Uint8Array([1])).isBinary, true)
})

/** Turns a server frame into the client form the parser expects: MASK bit and key inserted. */
function masked(f: Buffer, key: number): Buffer {
  const len7 = f[1]! & 0x7f
  const headLen = len7 < 126 ? 2 : len7 === 126 ? 4 : 10
  const out = Buffer.alloc(f.length + 4)
  f.copy(out, 0, 0, headLen)
  out[1]! |= 0x80
  out.writeUInt32BE(key >>> 0, headLen)
  for (let i = headLen; i < f.length; i++) out[i + 4] = f[i]! ^ out[headLen + ((i - headLen) & 3)]!
  return out
}

function parseOne(bytes: Buffer): unknown[] {
  const events: unknown[] = []
  const sink: ReceiverSink = {
    onMessage: (d, b) => void events.push(['message', hex(d), b]),
    onPing: (d) => void events.push(['ping', hex(d)]),
    onPong: (d) => void events.push(['pong', hex(d)]),
    onClose: (c, r) => void events.push(['close', c, r]),
    onError: (c) => void events.push(['error', c]),
    onInflate: () => {},
  }
  new Receiver(sink, { maxPayload: 1 << 20, maxFragments: 4 }, false).push(bytes)
  return events
}

test('round trip: whatever frame() encodes, the parser reads back (any opcode, length, payload)', () => {
  const arb = fc.record({
    op: fc.constantFrom(OP_TEXT, OP_BINARY, OP_PING, OP_CLOSE),
    data: fc.uint8Array({ maxLength: 70_000 }),
    key: fc.integer({ min: 0, max: 0xffffffff }),
  })
  fc.assert(
    fc.property(arb, ({ op, data, key }) => {
      let payload = Buffer.from(data)
      if (op === OP_TEXT) payload = Buffer.from(payload.toString('utf8')) // make it valid UTF-8
      if (op === OP_PING) payload = payload.subarray(0, 125)
      if (op === OP_CLOSE)
        payload = Buffer.concat([
          Buffer.from([0x03, 0xe8]),
          Buffer.from(payload.subarray(0, 40).toString('latin1')),
        ])
      const events = parseOne(masked(frameOne(op, payload, false), key))
      if (op === OP_TEXT || op === OP_BINARY)
        assert.deepEqual(events, [['message', hex(payload), op === OP_BINARY]])
      else if (op === OP_PING) assert.deepEqual(events, [['ping', hex(payload)]])
      else assert.deepEqual(events, [['close', 1000, payload.subarray(2).toString()]])
    }),
    { numRuns: 300 },
  )
})

test('frameString writes the same bytes as frame() for any short string', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 125, unit: 'grapheme' }), (s) => {
      assert.equal(hex(frameString(OP_TEXT, s)), hex(frameOne(OP_TEXT, Buffer.from(s), false)))
    }),
    { numRuns: 500 },
  )
})
