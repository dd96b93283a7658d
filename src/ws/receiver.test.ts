import assert from 'node:assert/strict'
import { test } from 'node:test'
import { constants, inflateRawSync } from 'node:zlib'
import fc from 'fast-check'
import { Receiver, type ReceiverSink } from './receiver.ts'

type Event = [string, ...unknown[]]

class Collect implements ReceiverSink {
  events: Event[] = []
  receiver!: Receiver
  onMessage(data: Buffer, isBinary: boolean) {
    this.events.push(['message', isBinary ? data.toString('hex') : data.toString(), isBinary])
  }
  onPing(data: Buffer) {
    this.events.push(['ping', data.toString('hex')])
  }
  onPong(data: Buffer) {
    this.events.push(['pong', data.toString('hex')])
  }
  onClose(code: number, reason: string) {
    this.events.push(['close', code, reason])
  }
  onError(code: string) {
    this.events.push(['error', code])
  }
  onInflate(data: Buffer, fin: boolean, limit: number) {
    // Synchronous stand-in for the zlib path: inflate the frame on its own (no context takeover).
    const out = inflateRawSync(Buffer.concat([data, Buffer.from('0000ffff', 'hex')]), {
      finishFlush: constants.Z_SYNC_FLUSH,
    })
    if (out.length > limit) this.onError('SWB_ERR_WS_MESSAGE_TOO_BIG')
    else queueMicrotask(() => this.receiver.inflated(out))
    this.events.push(['inflate', fin])
  }
}

const LIMITS = { maxPayload: 1 << 16, maxFragments: 64 }

function parse(
  hexOrBuf: string | Buffer,
  opts: { deflate?: boolean; limits?: typeof LIMITS } = {},
) {
  const sink = new Collect()
  const r = new Receiver(sink, opts.limits ?? LIMITS, opts.deflate ?? false)
  sink.receiver = r
  r.push(typeof hexOrBuf === 'string' ? hex(hexOrBuf) : Buffer.from(hexOrBuf))
  return sink.events
}

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex')
}

/** Builds a masked client frame (RFC 6455 §5.2) with explicit bits, for fixtures. */
function clientFrame(
  opcode: number,
  payload: Uint8Array,
  { fin = true, rsv = 0, mask = 0x37fa213d, masked = true } = {},
): Buffer {
  const len = payload.length
  const ext = len < 126 ? 0 : len < 0x10000 ? 2 : 8
  const head = Buffer.alloc(2 + ext + (masked ? 4 : 0))
  head[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode
  head[1] = (masked ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127)
  if (ext === 2) head.writeUInt16BE(len, 2)
  if (ext === 8) head.writeBigUInt64BE(BigInt(len), 2)
  const body = Buffer.from(payload)
  if (masked) {
    head.writeUInt32BE(mask >>> 0, 2 + ext)
    for (let i = 0; i < len; i++) body[i]! ^= head[2 + ext + (i & 3)]!
  }
  return Buffer.concat([head, body])
}

const text = (s: string, o?: Parameters<typeof clientFrame>[2]) => clientFrame(1, Buffer.from(s), o)

test('parses the masked "Hello" frame of RFC 6455 §5.7', () => {
  assert.deepEqual(parse('818537fa213d7f9f4d5158'), [['message', 'Hello', false]])
})

test('parses the fragmented "Hel"+"lo" message of RFC 6455 §5.7', () => {
  assert.deepEqual(parse('0183 37fa213d 7f9f4d  8082 37fa213d 5b95'), [['message', 'Hello', false]])
})

test('parses a masked ping and answers nothing itself', () => {
  assert.deepEqual(parse('898537fa213d7f9f4d5158'), [['ping', '48656c6c6f']])
})

test('parses lengths at every encoding boundary: 125, 126, 65535, 65536', () => {
  for (const n of [0, 125, 126, 127, 65535, 65536]) {
    const data = Buffer.alloc(n, 0x61)
    const ev = parse(clientFrame(2, data), { limits: { maxPayload: 1 << 20, maxFragments: 8 } })
    assert.deepEqual(ev, [['message', data.toString('hex'), true]], `length ${n}`)
  }
})

test('parses a close frame split across three writes', () => {
  const sink = new Collect()
  const r = new Receiver(sink, LIMITS, false)
  const f = clientFrame(8, Buffer.concat([hex('03e8'), Buffer.from('bye')]))
  r.push(f.subarray(0, 1))
  r.push(f.subarray(1, 7))
  r.push(f.subarray(7))
  assert.deepEqual(sink.events, [['close', 1000, 'bye']])
})

test('reports 1005 for a close frame without a body and parses nothing after it', () => {
  const ev = parse(Buffer.concat([clientFrame(8, Buffer.alloc(0)), text('late')]))
  assert.deepEqual(ev, [['close', 1005, '']])
})

test('interleaves pings between the fragments of a message', () => {
  const ev = parse(
    Buffer.concat([
      text('ab', { fin: false }),
      clientFrame(9, Buffer.from('p')),
      clientFrame(0, Buffer.from('cd'), { fin: false }),
      clientFrame(10, Buffer.from('q')),
      clientFrame(0, Buffer.from('ef')),
    ]),
  )
  assert.deepEqual(ev, [
    ['ping', '70'],
    ['pong', '71'],
    ['message', 'abcdef', false],
  ])
})

test('accepts empty fragments and an empty text message', () => {
  const ev = parse(
    Buffer.concat([text('', { fin: false }), clientFrame(0, Buffer.alloc(0)), text('')]),
  )
  assert.deepEqual(ev, [
    ['message', '', false],
    ['message', '', false],
  ])
})

// ---- 1002 cases (RFC 6455 §5) ----

const protocolErrors: [string, Buffer, string][] = [
  ['an unmasked client frame', text('hi', { masked: false }), 'SWB_ERR_WS_UNMASKED_FRAME'],
  ['RSV1 without a negotiated extension', text('hi', { rsv: 4 }), 'SWB_ERR_WS_RESERVED_BITS'],
  ['RSV2', text('hi', { rsv: 2 }), 'SWB_ERR_WS_RESERVED_BITS'],
  ['RSV3', text('hi', { rsv: 1 }), 'SWB_ERR_WS_RESERVED_BITS'],
  ...[3, 4, 5, 6, 7, 11, 12, 13, 14, 15].map((op): [string, Buffer, string] => [
    `reserved opcode ${op}`,
    clientFrame(op, Buffer.alloc(0)),
    'SWB_ERR_WS_RESERVED_OPCODE',
  ]),
  ['a ping of 126 bytes', clientFrame(9, Buffer.alloc(126)), 'SWB_ERR_WS_CONTROL_FRAME'],
  [
    'a fragmented ping',
    clientFrame(9, Buffer.alloc(1), { fin: false }),
    'SWB_ERR_WS_CONTROL_FRAME',
  ],
  [
    'a fragmented close',
    clientFrame(8, Buffer.alloc(0), { fin: false }),
    'SWB_ERR_WS_CONTROL_FRAME',
  ],
  [
    'a continuation with nothing to continue',
    clientFrame(0, Buffer.from('x')),
    'SWB_ERR_WS_CONTINUATION',
  ],
  [
    'a new text frame inside a fragmented message',
    Buffer.concat([text('a', { fin: false }), text('b')]),
    'SWB_ERR_WS_CONTINUATION',
  ],
  [
    'a binary frame inside a fragmented text message',
    Buffer.concat([text('a', { fin: false }), clientFrame(2, Buffer.from('b'))]),
    'SWB_ERR_WS_CONTINUATION',
  ],
  [
    'a 64-bit length with its top bit set',
    hex('82ff 8000000000000001 00000000'),
    'SWB_ERR_WS_FRAME_LENGTH',
  ],
  [
    'a close frame with a 1-byte payload',
    clientFrame(8, hex('03')),
    'SWB_ERR_WS_INVALID_CLOSE_FRAME',
  ],
]

for (const [name, bytes, code] of protocolErrors) {
  test(`fails with ${code} on ${name}`, () => {
    assert.deepEqual(parse(bytes), [['error', code]])
  })
}

test('fails on invalid close codes and accepts the valid ones (RFC 6455 §7.4)', () => {
  const invalid = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]
  for (const code of invalid) {
    const p = Buffer.alloc(2)
    p.writeUInt16BE(code)
    assert.deepEqual(
      parse(clientFrame(8, p)),
      [['error', 'SWB_ERR_WS_INVALID_CLOSE_FRAME']],
      `code ${code}`,
    )
  }
  for (const code of [
    1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999,
  ]) {
    const p = Buffer.alloc(2)
    p.writeUInt16BE(code)
    assert.deepEqual(parse(clientFrame(8, p)), [['close', code, '']], `code ${code}`)
  }
})

// ---- 1007 cases (RFC 6455 §8.1) ----

test('fails with 1007 on a close reason that is not UTF-8', () => {
  assert.deepEqual(parse(clientFrame(8, hex('03e8 cebae1bdb9cf83cebcceb5eda080656469746564'))), [
    ['error', 'SWB_ERR_WS_INVALID_UTF8'],
  ])
})

test('fails with 1007 on invalid UTF-8 in the first fragment, before the message ends', () => {
  const ev = parse(clientFrame(1, hex('cebae1bdb9cf83cebcceb5eda080'), { fin: false }))
  assert.deepEqual(ev, [['error', 'SWB_ERR_WS_INVALID_UTF8']])
})

test('fails with 1007 mid-frame when the invalid byte arrives before the frame ends', () => {
  const sink = new Collect()
  const r = new Receiver(sink, LIMITS, false)
  const f = clientFrame(1, Buffer.concat([hex('41 ff'), Buffer.alloc(100, 0x41)]))
  r.push(f.subarray(0, 9)) // header (6) + 3 payload bytes
  assert.deepEqual(sink.events, [['error', 'SWB_ERR_WS_INVALID_UTF8']])
})

test('fails with 1007 on a text message that ends inside a code point', () => {
  assert.deepEqual(parse(clientFrame(1, hex('e282'))), [['error', 'SWB_ERR_WS_INVALID_UTF8']])
})

test('accepts a code point split across fragments, U+0000 and non-characters', () => {
  const ev = parse(
    Buffer.concat([
      clientFrame(1, hex('00 e2'), { fin: false }),
      clientFrame(0, hex('82ac efbfbf')),
    ]),
  )
  assert.deepEqual(ev, [['message', '\u0000€\uffff', false]])
})

// ---- 1009 cases ----

test('fails with 1009 as soon as a header announces more than maxPayload', () => {
  const sink = new Collect()
  const r = new Receiver(sink, { maxPayload: 1000, maxFragments: 8 }, false)
  r.push(hex('82fe03e9')) // 1001 bytes announced; no mask key or payload yet
  assert.deepEqual(sink.events, [['error', 'SWB_ERR_WS_MESSAGE_TOO_BIG']])
})

test('fails with 1009 when fragments together exceed maxPayload', () => {
  const limits = { maxPayload: 10, maxFragments: 8 }
  const ev = parse(
    Buffer.concat([text('123456', { fin: false }), clientFrame(0, Buffer.from('78901'))]),
    { limits },
  )
  assert.deepEqual(ev, [['error', 'SWB_ERR_WS_MESSAGE_TOO_BIG']])
})

test('fails with 1009 on a 64-bit length of 2^53 and more', () => {
  assert.deepEqual(parse(hex('82ff 0020000000000000')), [['error', 'SWB_ERR_WS_MESSAGE_TOO_BIG']])
})

test('fails with 1009 past maxFragments frames in one message', () => {
  const limits = { maxPayload: 1000, maxFragments: 3 }
  const frames = [
    text('a', { fin: false }),
    ...Array.from({ length: 3 }, () => clientFrame(0, Buffer.from('b'), { fin: false })),
  ]
  assert.deepEqual(parse(Buffer.concat(frames), { limits }), [
    ['error', 'SWB_ERR_WS_TOO_MANY_FRAGMENTS'],
  ])
})

test('assembles 10,000 tiny fragments into one message', () => {
  const limits = { maxPayload: 1 << 20, maxFragments: 20000 }
  const frames = [text('a', { fin: false })]
  for (let i = 0; i < 9998; i++) frames.push(clientFrame(0, Buffer.from('b'), { fin: false }))
  frames.push(clientFrame(0, Buffer.from('c')))
  const ev = parse(Buffer.concat(frames), { limits })
  assert.equal(ev.length, 1)
  assert.equal((ev[0]![1] as string).length, 10000)
})

// ---- permessage-deflate framing (RFC 7692 §6) ----

test('hands a compressed frame to the inflater and waits for the result', async () => {
  const sink = new Collect()
  const r = new Receiver(sink, LIMITS, true)
  sink.receiver = r
  // 'Hello' compressed (RFC 7692 §7.2.3.1), then an uncompressed 'x' queued behind it.
  r.push(Buffer.concat([clientFrame(1, hex('f248cdc9c90700'), { rsv: 4 }), text('x')]))
  assert.equal(r.inflating, true)
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(sink.events, [
    ['inflate', true],
    ['message', 'Hello', false],
    ['message', 'x', false],
  ])
})

test('refuses RSV1 on a continuation frame and on control frames even with deflate', () => {
  const cont = Buffer.concat([
    clientFrame(2, Buffer.from('a'), { fin: false }),
    clientFrame(0, Buffer.from('b'), { rsv: 4 }),
  ])
  assert.deepEqual(parse(cont, { deflate: true }), [['error', 'SWB_ERR_WS_RESERVED_BITS']])
  assert.deepEqual(parse(clientFrame(9, Buffer.alloc(0), { rsv: 4 }), { deflate: true }), [
    ['error', 'SWB_ERR_WS_RESERVED_BITS'],
  ])
})

// ---- properties ----

const frameArb = fc.oneof(
  fc.record({
    op: fc.constantFrom(1),
    data: fc.string({ maxLength: 300 }).map((s) => Buffer.from(s)),
  }),
  fc.record({
    op: fc.constantFrom(2),
    data: fc.uint8Array({ maxLength: 70000 }).map((a) => Buffer.from(a)),
  }),
  fc.record({
    op: fc.constantFrom(9, 10),
    data: fc.uint8Array({ maxLength: 125 }).map((a) => Buffer.from(a)),
  }),
)

function expected(op: number, data: Buffer): Event {
  if (op === 1) return ['message', data.toString(), false]
  if (op === 2) return ['message', data.toString('hex'), true]
  return [op === 9 ? 'ping' : 'pong', data.toString('hex')]
}

test('round trip: any frame encoded and masked parses back to the same message', () => {
  fc.assert(
    fc.property(frameArb, fc.integer({ min: 0, max: 0xffffffff }), ({ op, data }, mask) => {
      const limits = { maxPayload: 1 << 20, maxFragments: 8 }
      assert.deepEqual(parse(clientFrame(op, data, { mask }), { limits }), [expected(op, data)])
    }),
    { numRuns: 300 },
  )
})

test('output is the same however the byte stream is chopped', () => {
  const stream = fc.array(frameArb, { minLength: 1, maxLength: 6 })
  fc.assert(
    fc.property(
      stream,
      fc.array(fc.nat(), { maxLength: 20 }),
      fc.boolean(),
      (frames, cuts, fragment) => {
        const limits = { maxPayload: 1 << 20, maxFragments: 64 }
        const parts: Buffer[] = []
        const want: Event[] = []
        for (const { op, data } of frames) {
          if (fragment && op < 8 && data.length > 2) {
            // Split data messages into three fragments, a ping between the first two.
            const a = Math.floor(data.length / 3)
            parts.push(clientFrame(op, data.subarray(0, a), { fin: false }))
            parts.push(clientFrame(9, Buffer.from('ok')))
            want.push(['ping', '6f6b'])
            parts.push(clientFrame(0, data.subarray(a, 2 * a), { fin: false }))
            parts.push(clientFrame(0, data.subarray(2 * a)))
          } else {
            parts.push(clientFrame(op, data))
          }
          want.push(expected(op, data))
        }
        const all = Buffer.concat(parts)
        const sink = new Collect()
        const r = new Receiver(sink, limits, false)
        const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((x, y) => x - y)
        let from = 0
        for (const p of [...points, all.length]) {
          r.push(Buffer.from(all.subarray(from, p)))
          from = p
        }
        assert.deepEqual(sink.events, want)
      },
    ),
    { numRuns: 200 },
  )
})

test('byte-by-byte delivery gives the same events as one write', () => {
  const all = Buffer.concat([
    text('héllo', { fin: false }),
    clientFrame(9, Buffer.from('p')),
    clientFrame(0, Buffer.from(' wörld')),
    clientFrame(2, Buffer.alloc(300, 7)),
    clientFrame(8, hex('03e8')),
  ])
  const once = parse(Buffer.from(all))
  const sink = new Collect()
  const r = new Receiver(sink, LIMITS, false)
  for (let i = 0; i < all.length; i++) r.push(Buffer.from([all[i]!]))
  assert.deepEqual(sink.events, once)
  assert.equal(once.length, 4)
})
