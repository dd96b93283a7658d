/**
 * fast-check properties, one group per fuzz target: structured inputs (valid traffic built from
 * generated values) with a model or round-trip oracle. They reach deep states at once that byte
 * mutation finds slowly (long fragmented messages, many cursors, nested JSON), and shrink a
 * failure to a small counterexample.
 */
import type { ServerResponse } from 'node:http'
import { isDeepStrictEqual } from 'node:util'
import { constants, deflateRawSync } from 'node:zlib'
import fc from 'fast-check'
import { SwitchboardClient } from '../src/client/client.ts'
import { Context } from '../src/http/context.ts'
import { checkCommand } from '../src/protocol/codec.ts'
import { jsonCodec } from '../src/protocol/json.ts'
import { msgpackCodec } from '../src/protocol/msgpack.ts'
import { encodeSseId, parseSseId } from '../src/protocol/sse-id.ts'
import { encodeEvent } from '../src/sse/encode.ts'
import { readLastEventId } from '../src/sse/last-event-id.ts'
import { UTF8_START, utf8Done, utf8Step } from '../src/ws/utf8.ts'
import { encodeFrame } from './lib/frames.ts'
import { splitChunks } from './lib/input.ts'
import { FakeSocket } from './targets/client-push.ts'
import * as httpBody from './targets/http-body.ts'
import * as sse from './targets/sse.ts'
import { runOurs as inflateFrames } from './targets/ws-deflate.ts'
import { runOurs as parseFrames } from './targets/ws-frames.ts'

export type Property = fc.IRawProperty<unknown>

const mask = fc.integer({ min: 0, max: 0xffffffff })

/** ws-frames: fragmented messages with control frames between fragments arrive whole, in order. */
const wsFrames = fc.property(
  fc.array(
    fc.record({
      text: fc.option(fc.string({ unit: 'binary', maxLength: 300 }), { nil: undefined }),
      bytes: fc.uint8Array({ maxLength: 300 }),
      cuts: fc.array(fc.nat(300), { maxLength: 4 }),
      pings: fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 3 }),
      masks: fc.array(mask, { minLength: 8, maxLength: 8 }),
    }),
    { maxLength: 6 },
  ),
  fc.nat(),
  (messages, seed) => {
    const wire: Buffer[] = []
    const expected: unknown[] = []
    for (const m of messages) {
      const payload = m.text === undefined ? Buffer.from(m.bytes) : Buffer.from(m.text, 'utf8')
      const cuts = [...new Set(m.cuts.map((c) => c % (payload.length + 1)))].sort((a, b) => a - b)
      const bounds = [0, ...cuts, payload.length]
      for (let i = 0; i + 1 < bounds.length; i++) {
        wire.push(
          encodeFrame({
            fin: i + 2 === bounds.length,
            rsv: 0,
            opcode: i > 0 ? 0 : m.text === undefined ? 2 : 1,
            payload: payload.subarray(bounds[i]!, bounds[i + 1]!),
            masked: true,
            mask: m.masks[i % 8]!,
          }),
        )
        const ping = m.pings[i]
        if (ping !== undefined && i + 2 < bounds.length) {
          const op = ping.length % 2 === 0 ? 9 : 10
          wire.push(
            encodeFrame({
              fin: true,
              rsv: 0,
              opcode: op,
              payload: ping,
              masked: true,
              mask: m.masks[7]!,
            }),
          )
          expected.push({ t: op === 9 ? 'ping' : 'pong', hex: Buffer.from(ping).toString('hex') })
        }
      }
      expected.push({ t: 'message', binary: m.text === undefined, hex: payload.toString('hex') })
    }
    const events = parseFrames(
      splitChunks(Buffer.concat(wire), seed),
      { maxPayload: 1 << 20, maxFragments: 1000 },
      false,
    )
    return isDeepStrictEqual(events, expected)
  },
)

/** ws-deflate: compressed messages split into frames inflate back to what was compressed. */
const wsDeflate = fc.asyncProperty(
  fc.array(fc.tuple(fc.uint8Array({ maxLength: 2000 }), fc.nat(3), fc.boolean()), {
    minLength: 1,
    maxLength: 4,
  }),
  fc.integer({ min: 9, max: 15 }),
  fc.boolean(),
  async (messages, windowBits, noTakeover) => {
    const frames: { data: Buffer; fin: boolean }[] = []
    const expected: string[] = []
    for (const [body, pieces, bfinal] of messages) {
      const z = deflateRawSync(body, {
        windowBits,
        finishFlush: bfinal ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
      })
      const data = bfinal ? z : z.subarray(0, z.length - 4)
      const step = Math.ceil(data.length / (pieces + 1)) || 1
      const parts: string[] = []
      for (let i = 0; i <= pieces; i++) {
        frames.push({ data: data.subarray(i * step, (i + 1) * step), fin: i === pieces })
        parts.push('')
      }
      expected.push(Buffer.from(body).toString('hex'))
    }
    const out = await inflateFrames(frames, windowBits, noTakeover, 1 << 20)
    const got: string[] = []
    let acc = ''
    for (let i = 0; i < out.length; i++) {
      const o = out[i]!
      if (!('ok' in o)) return false
      acc += o.ok
      if (frames[i]!.fin) {
        got.push(acc)
        acc = ''
      }
    }
    return isDeepStrictEqual(got, expected)
  },
)

/** utf8: any string's UTF-8 is valid in any split; one changed byte agrees with TextDecoder. */
const utf8 = fc.property(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.nat(),
  fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { nil: undefined }),
  (s, seed, change) => {
    const bytes = Buffer.from(s, 'utf8')
    if (change !== undefined && bytes.length > 0) bytes[change[0] % bytes.length] = change[1]
    let state = UTF8_START
    for (const c of splitChunks(bytes, seed)) state = utf8Step(state, c)
    let valid = true
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    } catch {
      valid = false
    }
    return (state >= 0 && utf8Done(state)) === valid
  },
)

/** http-body: any JSON value, in any chunking within the limit, reads back equal. */
const httpBodyJson = fc.asyncProperty(
  fc.jsonValue({ maxDepth: 6 }),
  fc.nat(),
  async (value, seed) => {
    const body = Buffer.from(JSON.stringify(value))
    const req = httpBody.request(
      { 'content-type': 'application/json' },
      splitChunks(body, seed),
      -1,
    )
    httpBody.host.bodyLimit = 1 << 20
    const ctx = new Context(httpBody.host, req, {} as ServerResponse, '/', '')
    return isDeepStrictEqual(await ctx.readJson(), JSON.parse(body.toString()))
  },
)

const channelName = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 20 })
  .filter((s) => !/[,\r\n\0]/.test(s))

/** sse: cursors survive id -> event stream -> browser header -> readLastEventId -> parseSseId. */
const sseCursors = fc.property(
  fc.uniqueArray(
    fc.tuple(channelName, fc.maxSafeNat(), fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/)),
    {
      selector: (t) => t[0],
      maxLength: 8,
    },
  ),
  fc.array(channelName, { maxLength: 4 }),
  fc.nat(),
  (entries, urlChannels, seed) => {
    const cursors = entries.map(([channel, offset, epoch]) => ({ channel, offset, epoch }))
    const id = encodeSseId(cursors, urlChannels)
    const read = sse.parse(encodeEvent({ id, data: '' }), seed).events[0]?.id
    if (read !== id) return false
    const back = readLastEventId(
      sse.request(['Last-Event-ID', sse.asHeader(read)], '/'),
      undefined,
      1 << 20,
    )
    const expected = new Map(cursors.map((c) => [c.channel, { offset: c.offset, epoch: c.epoch }]))
    return isDeepStrictEqual(parseSseId(back ?? '', urlChannels), expected)
  },
)

// No `__proto__` key: msgpackr renames it to `__proto_` (a known divergence, docs/fuzzing.md).
const json = fc
  .jsonValue({ maxDepth: 4 })
  .map((v) => JSON.parse(JSON.stringify(v)) as unknown)
  .filter((v) => !JSON.stringify(v).includes('"__proto__"'))
const id = fc.integer({ min: 1, max: 2 ** 31 - 1 })
const str = fc.string({ maxLength: 30 })
const command = fc.oneof(
  fc.record(
    { id, type: fc.constant('connect'), token: str, name: str },
    { requiredKeys: ['id', 'type'] },
  ),
  fc.record(
    {
      id,
      type: fc.constant('subscribe'),
      channel: str,
      since: fc.record({ offset: fc.maxSafeNat(), epoch: str }),
    },
    { requiredKeys: ['id', 'type', 'channel'] },
  ),
  fc.record(
    { id, type: fc.constant('publish'), channel: str, data: json, idempotencyKey: str, key: str },
    { requiredKeys: ['id', 'type', 'channel', 'data'] },
  ),
  fc.record(
    { id, type: fc.constant('rpc'), method: str, data: json },
    { requiredKeys: ['id', 'type', 'method'] },
  ),
  fc.record({ id, type: fc.constantFrom('presence', 'unsubscribe'), channel: str }),
  fc.record(
    {
      id,
      type: fc.constant('history'),
      channel: str,
      limit: fc.integer(),
      since: fc.record({ offset: fc.nat(), epoch: str }),
    },
    { requiredKeys: ['id', 'type', 'channel'] },
  ),
  fc.record(
    { id, type: fc.constant('refresh'), token: str, client: str },
    { requiredKeys: ['id', 'type', 'token'] },
  ),
  fc.record({ id, type: fc.constant('ping') }),
)

/** protocol: every well-formed command survives both codecs and is accepted unchanged. */
const protocol = fc.property(command, (generated) => {
  const cmd = structuredClone(generated) // a plain object, without fast-check's symbol keys
  for (const codec of [jsonCodec, msgpackCodec]) {
    if (!isDeepStrictEqual(checkCommand(codec.decode(codec.encode(cmd as never))), cmd))
      return false
  }
  return true
})

/** client-push: a subscription delivers each offset above its position once, in order. */
const clientPush = fc.asyncProperty(
  fc.array(fc.nat(40), { maxLength: 30 }),
  fc.boolean(),
  async (offsets, mp) => {
    const codec = mp ? msgpackCodec : jsonCodec
    const client = new SwitchboardClient({
      url: 'ws://fuzz.test/sb',
      WebSocket: FakeSocket,
      transport: 'websocket',
      codec,
      visibility: null,
      minReconnectDelay: 60_000,
      maxReconnectDelay: 60_000,
      pingInterval: 60_000,
    })
    const got: number[] = []
    client.subscribe('a').on('publication', (p) => got.push(p.offset))
    try {
      client.connect()
      const socket = FakeSocket.last!
      socket.codec = codec
      await new Promise(setImmediate)
      for (const o of offsets) socket.deliver(codec.encode(['a', o, o] as never))
    } finally {
      client.disconnect()
    }
    const expected: number[] = []
    let top = 3 // the fake server's subscribe answer: offset 3
    for (const o of offsets) if (o > top) expected.push((top = o))
    return isDeepStrictEqual(got, expected)
  },
)

/** The properties of each target. */
export const properties: Record<string, Property[]> = {
  'ws-frames': [wsFrames],
  'ws-deflate': [wsDeflate],
  utf8: [utf8],
  'http-body': [httpBodyJson],
  sse: [sseCursors],
  protocol: [protocol],
  'client-push': [clientPush],
}
