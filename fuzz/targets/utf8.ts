/**
 * Target `utf8`: the incremental UTF-8 validator (`src/ws/utf8.ts`) against the WHATWG decoder
 * (`TextDecoder` in fatal mode), in any split.
 *
 * Oracles: the whole input is valid and complete exactly when `TextDecoder` decodes it; after
 * every chunk, the validator says "invalid" exactly when a streaming fatal `TextDecoder` has
 * thrown by then (RFC 6455 §8.1 fail-fast, never early); `start`/`end` windows agree with copies.
 */
import { isUtf8 } from 'node:buffer'
import { UTF8_INVALID, UTF8_START, utf8Done, utf8Step } from '../../src/ws/utf8.ts'
import { FuzzInput, fail, splitChunks } from '../lib/input.ts'

export const name = 'utf8'

export function fuzz(data: Buffer): void {
  const input = new FuzzInput(data)
  const seed = input.u16()
  const windowed = input.bool()
  const bytes = input.rest()
  const chunks = splitChunks(bytes, seed)
  const stream = new TextDecoder('utf-8', { fatal: true })
  let state = UTF8_START
  let refFailed = false
  for (const chunk of chunks) {
    if (windowed) {
      // The same bytes inside a larger buffer, addressed by start/end.
      const padded = Buffer.concat([Buffer.from([0xff, 0x80]), chunk, Buffer.from([0xc0])])
      state = utf8Step(state, padded, 2, 2 + chunk.length)
    } else state = utf8Step(state, chunk)
    if (!refFailed) {
      try {
        stream.decode(chunk, { stream: true })
      } catch {
        refFailed = true
      }
    }
    if ((state === UTF8_INVALID) !== refFailed) {
      fail(name, 'fail-fast point differs from TextDecoder', {
        hex: bytes.toString('hex'),
        chunks: chunks.map((c) => c.toString('hex')),
        ours: state,
        ref: refFailed,
      })
    }
  }
  let whole = true
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    whole = false
  }
  if ((state !== UTF8_INVALID && utf8Done(state)) !== whole) {
    fail(name, 'final verdict differs from TextDecoder', { hex: bytes.toString('hex'), state })
  }
  if (isUtf8(bytes) !== whole) fail(name, 'isUtf8 and TextDecoder disagree (reference broken)')
}

export function seeds(): Buffer[] {
  return [
    Buffer.from('0102', 'hex'),
    Buffer.concat([Buffer.from([0, 3]), Buffer.from('héllo € 𝄞 ok')]),
    Buffer.from([1, 1, 0, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80, 0xe0, 0x9f, 0xbf]),
    Buffer.from([2, 2, 1, 0xf0, 0x9f, 0x98, 0x80, 0xc2, 0xa9, 0xe2, 0x82]),
  ]
}
