/**
 * Target `ws-deflate`: permessage-deflate inflate with its limit (`src/ws/deflate.ts`), frame by
 * frame, with and without context takeover, window bits 8-15, valid streams (some ending in a
 * BFINAL block, RFC 7692 §7.2.3.3), corrupted streams and raw bytes.
 *
 * Oracles:
 * - differential: `ws`'s PerMessageDeflate, given the same frames, parameters and limit, inflates
 *   the same bytes or fails with the same close code (1007 corrupt, 1009 over the limit);
 * - every inflate settles exactly once within 2 s (no hang), never with more than the limit;
 * - after `destroy()`, mid-inflate or not, no callback arrives and the shared zlib limiter is
 *   back to zero running jobs (a leaked slot would stall every connection).
 */
import { constants, deflateRawSync } from 'node:zlib'
import * as wsPackage from 'ws'
import { ERRORS } from '../../src/errors/index.ts'
import type { WsErrorCode } from '../../src/errors/ws.ts'
import { PerMessageDeflate, zlibLimiter } from '../../src/ws/deflate.ts'
import { resolveWsRoute } from '../../src/ws/route.ts'
import { FuzzInput, fail } from '../lib/input.ts'

export const name = 'ws-deflate'

const CFG = resolveWsRoute({ compression: true }).rules.compression!

interface Frame {
  data: Buffer
  fin: boolean
}
type Outcome = { ok: string } | { close: number }

/** Frames of 1-4 messages: the input's bytes compressed here (then maybe corrupted), or raw. */
function frames(input: FuzzInput, windowBits: number, compress: boolean): Frame[] {
  const out: Frame[] = []
  const messages = 1 + (input.u8() % 4)
  for (let m = 0; m < messages && input.remaining > 0; m++) {
    const h = input.u8()
    const len = input.u8() * (h & 0x80 ? 16 : 1)
    let body = input.bytes(len)
    if (compress) {
      if (h & 0x40) body = Buffer.from(body.toString('latin1').repeat(1 + (h & 0x3f)), 'latin1')
      const bfinal = (h & 0x30) === 0x30
      const z = deflateRawSync(body, {
        windowBits: Math.max(9, windowBits),
        finishFlush: bfinal ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
      })
      body = bfinal ? z : z.subarray(0, z.length - 4)
      if ((h & 0x0c) === 0x0c && body.length > 0) body[input.u8() % body.length]! ^= 1 + input.u8()
    }
    const pieces = 1 + (h % 3)
    const step = Math.ceil(body.length / pieces) || 1
    for (let i = 0; i < pieces; i++) {
      out.push({ data: body.subarray(i * step, (i + 1) * step), fin: i === pieces - 1 })
    }
  }
  return out
}

function settle<T>(start: (done: (v: T) => void) => void, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false
    const timer = setTimeout(() => reject(new Error(`[${name}] hang: ${what}`)), 2000)
    start((v) => {
      if (settled) reject(new Error(`[${name}] settled twice: ${what}`))
      settled = true
      clearTimeout(timer)
      resolve(v)
    })
  })
}

export async function runOurs(
  list: Frame[],
  windowBits: number,
  noTakeover: boolean,
  limit: number,
): Promise<Outcome[]> {
  let done: ((o: Outcome) => void) | null = null
  const answer = (o: Outcome) => {
    const d = done
    if (d === null) fail(name, 'a callback arrived with no inflate running', o)
    done = null
    d(o)
  }
  const pmd = new PerMessageDeflate(
    {
      inflated: (data) => {
        if (data.length > limit) fail(name, 'inflated past the limit', { len: data.length, limit })
        answer({ ok: data.toString('hex') })
      },
      inflateFailed: (code: WsErrorCode) =>
        answer({ close: (ERRORS[code] as { closeCode?: number }).closeCode ?? 0 }),
      deflated: () => fail(name, 'deflated() without a send'),
    },
    {
      serverNoContextTakeover: false,
      clientNoContextTakeover: noTakeover,
      serverMaxWindowBits: 15,
      clientMaxWindowBits: windowBits,
      header: 'permessage-deflate',
    },
    CFG,
  )
  const out: Outcome[] = []
  try {
    for (const f of list) {
      const o = await settle<Outcome>((d) => {
        done = d
        pmd.inflate(Buffer.from(f.data), f.fin, limit)
      }, 'our inflate')
      out.push(o)
      if ('close' in o) break
    }
  } finally {
    pmd.destroy()
  }
  return out
}

async function runWs(
  list: Frame[],
  windowBits: number,
  noTakeover: boolean,
  limit: number,
): Promise<Outcome[]> {
  const WsPmd = (wsPackage as unknown as { PerMessageDeflate: new (o: object) => unknown })
    .PerMessageDeflate
  const pmd = new WsPmd({ isServer: true, maxPayload: limit }) as {
    params: Record<string, unknown>
    decompress(d: Buffer, fin: boolean, cb: (err: Error | null, r?: Buffer) => void): void
    cleanup(): void
  }
  pmd.params = { client_max_window_bits: windowBits, client_no_context_takeover: noTakeover }
  const out: Outcome[] = []
  for (const f of list) {
    const o = await settle<Outcome>((d) => {
      pmd.decompress(Buffer.from(f.data), f.fin, (err, r) => {
        if (err) d({ close: wsStatusCode(err) })
        else d({ ok: r!.toString('hex') })
      })
    }, 'ws inflate')
    out.push(o)
    if ('close' in o) break
  }
  pmd.cleanup()
  return out
}

function wsStatusCode(err: object): number {
  for (const s of Object.getOwnPropertySymbols(err)) {
    if (s.description === 'status-code') return (err as Record<symbol, number>)[s] ?? 0
  }
  return 1007 // a zlib error ws passes on as is: it closes with 1007
}

/** Destroys mid-inflate: no callback may follow and the limiter slot must come back. */
async function destroyMidway(list: Frame[], windowBits: number, limit: number): Promise<void> {
  let calls = 0
  const pmd = new PerMessageDeflate(
    { inflated: () => calls++, inflateFailed: () => calls++, deflated: () => calls++ },
    {
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 15,
      clientMaxWindowBits: windowBits,
      header: 'permessage-deflate',
    },
    CFG,
  )
  const f = list[0] ?? { data: Buffer.from([0xf2, 0x00]), fin: true }
  pmd.inflate(Buffer.from(f.data), f.fin, limit)
  pmd.destroy()
  await new Promise((r) => setTimeout(r, 5))
  if (calls !== 0) fail(name, 'a callback arrived after destroy()')
  if (zlibLimiter.active !== 0)
    fail(name, 'destroy() leaked a zlib limiter slot', zlibLimiter.active)
}

export async function fuzz(data: Buffer): Promise<void> {
  const input = new FuzzInput(data)
  const flags = input.u8()
  const windowBits = 8 + (flags & 7)
  const noTakeover = (flags & 8) !== 0
  const compress = (flags & 0x10) === 0
  const limit = input.pick([64, 1000, 16384, 1 << 20])
  const list = frames(input, windowBits, compress)
  if ((flags & 0xe0) === 0xe0) return destroyMidway(list, windowBits, limit)
  const ours = await runOurs(list, windowBits, noTakeover, limit)
  const theirs = await runWs(list, windowBits, noTakeover, limit)
  if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
    fail(name, 'outcomes differ from ws', {
      ours,
      theirs,
      windowBits,
      noTakeover,
      limit,
      frames: list.map((f) => [f.fin, f.data.toString('hex')]),
    })
  }
  if (zlibLimiter.active !== 0) fail(name, 'a zlib limiter slot leaked', zlibLimiter.active)
}

export function seeds(): Buffer[] {
  return [
    Buffer.concat([Buffer.from([0x07, 1, 2, 0x41, 11]), Buffer.from('hello hello')]),
    Buffer.concat([
      Buffer.from([0x0f, 0, 3, 0x02, 5]),
      Buffer.from('abcde'),
      Buffer.from([1, 3]),
      Buffer.from('fgh'),
    ]),
    Buffer.concat([
      Buffer.from([0x07, 1, 2, 0x30, 5]),
      Buffer.from('first'),
      Buffer.from([0x00, 6]),
      Buffer.from('second'),
    ]),
    Buffer.concat([
      Buffer.from([0x17, 1, 1, 0x01, 6]),
      Buffer.from([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07]),
    ]),
    Buffer.concat([Buffer.from([0x07, 0, 1, 0xcf, 200]), Buffer.alloc(200, 0x61)]),
  ]
}
