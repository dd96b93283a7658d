import { isUtf8 } from 'node:buffer'

/**
 * Incremental UTF-8 validation (RFC 3629 §4, as RFC 6455 §8.1 requires for text messages).
 *
 * The state of a partly read code point is one small integer so a receiver can keep it in a
 * field without allocating: 0 means "at a code point boundary"; otherwise the low byte holds the
 * number of continuation bytes still expected, the next byte the lowest allowed value of the next
 * byte and the third byte the highest. `UTF8_INVALID` is sticky.
 *
 * Overlong forms, surrogates (U+D800–U+DFFF) and values above U+10FFFF are refused; U+0000 and
 * the non-characters (U+FFFE, U+FFFF, …) are valid UTF-8 and accepted.
 *
 * @example
 * let s = UTF8_START
 * s = utf8Step(s, Buffer.from([0xe2, 0x82]))   // a partial '€'
 * s = utf8Step(s, Buffer.from([0xac]))         // completes it
 * utf8Done(s)                                  // true
 */
export const UTF8_START = 0
export const UTF8_INVALID = -1

function pending(need: number, lo: number, hi: number): number {
  return need | (lo << 8) | (hi << 16)
}

/** Validates `buf` (or `buf[start, end)`) following `state`; returns the new state. */
export function utf8Step(state: number, buf: Uint8Array, start = 0, end = buf.length): number {
  if (state === UTF8_INVALID) return state
  let i = start
  // Finish a code point begun in an earlier chunk, byte by byte.
  while (state !== 0 && i < end) {
    state = stepByte(state, buf[i]!)
    if (state === UTF8_INVALID) return state
    i++
  }
  if (i === end) return state
  // Find the last code point boundary: a lead byte among the last three bytes whose sequence
  // does not fit before `end` starts the incomplete tail, validated byte by byte.
  let cut = end
  for (let j = end - 1; j >= i && j >= end - 3; j--) {
    const b = buf[j]!
    if (b < 0x80) break
    if (b >= 0xc0) {
      const len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2
      if (j + len > end) cut = j
      break
    }
  }
  // The complete middle part goes through the native validator.
  if (cut > i) {
    const whole = i === 0 && cut === buf.length ? buf : buf.subarray(i, cut)
    if (!isUtf8(whole)) return UTF8_INVALID
  }
  for (i = cut; i < end; i++) {
    state = stepByte(state, buf[i]!)
    if (state === UTF8_INVALID) return state
  }
  return state
}

/** Whether a text message may end in `state` (valid and not inside a code point). */
export function utf8Done(state: number): boolean {
  return state === 0
}

/** One byte of the RFC 3629 §4 grammar. */
function stepByte(state: number, b: number): number {
  if (state === 0) {
    if (b < 0x80) return 0
    if (b < 0xc2) return UTF8_INVALID // continuation byte, or overlong 2-byte lead C0/C1
    if (b < 0xe0) return pending(1, 0x80, 0xbf)
    if (b < 0xf0) return pending(2, b === 0xe0 ? 0xa0 : 0x80, b === 0xed ? 0x9f : 0xbf) // overlong / surrogates
    if (b < 0xf5) return pending(3, b === 0xf0 ? 0x90 : 0x80, b === 0xf4 ? 0x8f : 0xbf) // overlong / > U+10FFFF
    return UTF8_INVALID
  }
  const lo = (state >> 8) & 0xff
  const hi = (state >> 16) & 0xff
  if (b < lo || b > hi) return UTF8_INVALID
  const need = (state & 0xff) - 1
  return need === 0 ? 0 : pending(need, 0x80, 0xbf)
}
