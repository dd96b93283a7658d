/**
 * Group 12: permessage-deflate (RFC 7692) with generated corpora under the common offer, both
 * directions compressed, whole and fragmented compressed messages, and the deflate error rules.
 */
import zlib from 'node:zlib'
import { echo, f, fail, m } from '../build.ts'
import type { Case } from '../case.ts'
import { CORPORA, type CorpusKind, corpus, isText } from '../corpora.ts'
import { type DeflateParams, MessageDeflater } from '../deflate.ts'
import { encodeFrame, Opcode } from '../frame.ts'

export const COMMON_OFFER = 'permessage-deflate; client_max_window_bits'

/** Compressed frames for `messages`: one frame each, or `parts` fragments with RSV1 on the first. */
export async function compressedFrames(
  neg: DeflateParams | null,
  messages: Array<{ data: Buffer; text: boolean }>,
  parts = 1,
): Promise<Buffer[]> {
  const out: Buffer[] = []
  const deflater = neg ? new MessageDeflater(neg) : null
  for (const msg of messages) {
    const opcode = msg.text ? Opcode.text : Opcode.binary
    if (!deflater) {
      out.push(encodeFrame({ opcode, payload: msg.data }))
      continue
    }
    const payload = await deflater.compress(msg.data)
    if (payload === null) {
      out.push(encodeFrame({ opcode, payload: msg.data }))
      continue
    }
    const step = Math.max(1, Math.ceil(payload.length / parts))
    for (let i = 0, k = 0; k === 0 || i < payload.length; i += step, k++) {
      out.push(
        encodeFrame({
          opcode: k === 0 ? opcode : Opcode.continuation,
          rsv: k === 0 ? 4 : 0,
          payload: payload.subarray(i, i + step),
          fin: i + step >= payload.length,
        }),
      )
    }
  }
  deflater?.close()
  return out
}

function deflateEcho(
  id: string,
  title: string,
  messages: Array<{ data: Buffer; text: boolean }>,
  parts = 1,
  deadlineMs?: number,
): Case {
  const base = echo(
    id,
    title,
    [],
    messages.map((x) => (x.text ? m.text(x.data) : m.binary(x.data))),
    {
      extensions: COMMON_OFFER,
      deadlineMs,
      expect: { deflate: 'required' },
    },
  )
  return {
    ...base,
    frames: async (neg) => [...(await compressedFrames(neg, messages, parts)), f.close(1000)],
  }
}

const SIZES = [16, 128, 1024, 8192, 65536]

export function deflateCases(): Case[] {
  const cases: Case[] = []
  CORPORA.forEach((kind: CorpusKind, ci) => {
    SIZES.forEach((size, si) => {
      const messages = [0, 1, 2].map((v) => ({ data: corpus(kind, size, v), text: isText(kind) }))
      const deadline = size >= 8192 ? 10_000 : undefined
      cases.push(
        deflateEcho(
          `12.${ci + 1}.${si + 1}`,
          `echoes three compressed ${size}-byte ${kind} messages in one frame each`,
          messages,
          1,
          deadline,
        ),
        deflateEcho(
          `12.${ci + 1}.${si + 1 + SIZES.length}`,
          `echoes three compressed ${size}-byte ${kind} messages in three fragments each`,
          messages,
          3,
          deadline,
        ),
      )
    })
  })
  const hello = Buffer.from('Hello, compressed world! '.repeat(4))
  const raw = (data: Buffer) =>
    zlib.deflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4)
  const x = { extensions: COMMON_OFFER, expect: { deflate: 'required' as const } }
  cases.push(
    echo(
      '12.9.1',
      'echoes an uncompressed message (RSV1 clear) on a compressed connection',
      [f.text('plain')],
      [m.text('plain')],
      x,
    ),
    echo(
      '12.9.2',
      'echoes a compressed empty message',
      [f.text(raw(Buffer.alloc(0)), { rsv: 4 })],
      [m.text('')],
      x,
    ),
    fail(
      '12.9.3',
      'refuses RSV1 on a continuation frame with 1002',
      [
        f.text(raw(hello).subarray(0, 5), { rsv: 4, fin: false }),
        f.cont(raw(hello).subarray(5), { rsv: 4 }),
      ],
      [],
      1002,
      x,
    ),
    fail('12.9.4', 'refuses RSV1 on a ping with 1002', [f.ping('p', { rsv: 4 })], [], 1002, x),
    fail(
      '12.9.5',
      'refuses RSV2 on a data frame with 1002 even with deflate negotiated',
      [f.text('x', { rsv: 2 })],
      [],
      1002,
      x,
    ),
    fail(
      '12.9.6',
      'refuses corrupt deflate data with 1007',
      [f.binary(Buffer.from([0x07, 0xff, 0xff, 0x00, 0x12]), { rsv: 4 })],
      [],
      1007,
      x,
    ),
    fail(
      '12.9.7',
      'refuses a compressed text message that inflates to invalid UTF-8 with 1007',
      [f.text(raw(Buffer.from([0x61, 0xff, 0x62])), { rsv: 4 })],
      [],
      1007,
      x,
    ),
    fail(
      '12.9.8',
      'refuses a deflate bomb (a small frame inflating past 16 MiB) with 1009',
      [f.binary(raw(Buffer.alloc(24 * 1024 * 1024)), { rsv: 4 })],
      [],
      1009,
      { ...x, deadlineMs: 10_000 },
    ),
    echo(
      '12.9.9',
      'echoes compressed, uncompressed and compressed messages mixed on one connection',
      [f.text(raw(hello), { rsv: 4 }), f.binary('raw bytes'), f.text(raw(hello), { rsv: 4 })],
      [m.text(hello), m.binary('raw bytes'), m.text(hello)],
      x,
    ),
    echo(
      '12.9.10',
      'answers a ping between fragments of a compressed message',
      [
        f.text(raw(hello).subarray(0, 4), { rsv: 4, fin: false }),
        f.ping('mid'),
        f.cont(raw(hello).subarray(4)),
      ],
      [m.pong('mid'), m.text(hello)],
      x,
    ),
  )
  return cases
}
