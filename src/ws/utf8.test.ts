import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { UTF8_INVALID, UTF8_START, utf8Done, utf8Step } from './utf8.ts'

const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

function reference(bytes: Uint8Array): boolean {
  try {
    fatal.decode(bytes)
    return true
  } catch {
    return false
  }
}

function chopped(bytes: Uint8Array, cuts: number[]): boolean {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  let s = UTF8_START
  let from = 0
  for (const p of [...points, bytes.length]) {
    s = utf8Step(s, bytes, from, p)
    from = p
  }
  return s !== UTF8_INVALID && utf8Done(s)
}

const hex = (h: string) => Buffer.from(h.replace(/\s+/g, ''), 'hex')

test('accepts U+0000, non-characters and the largest code point', () => {
  for (const h of ['00', 'efbfbe', 'efbfbf', 'f48fbfbf', 'f0908080', 'eda080'.slice(0, 0)]) {
    assert.ok(chopped(hex(h), []), h)
  }
})

test('refuses overlongs, surrogates, code points above U+10FFFF and stray bytes', () => {
  for (const h of [
    'c080',
    'c1bf',
    'e08080',
    'f0808080',
    'eda080',
    'edbfbf',
    'f4908080',
    'f5',
    'ff',
    '80',
    'c2',
    'e282',
  ]) {
    assert.equal(chopped(hex(h), []), false, h)
  }
})

test('fails on the first invalid byte, before the text ends', () => {
  const s = utf8Step(UTF8_START, hex('cebae1bdb9cf83cebcceb5eda080'))
  assert.equal(s, UTF8_INVALID)
  assert.equal(utf8Step(s, hex('41')), UTF8_INVALID)
})

test('a code point split across chunks at every position is accepted', () => {
  const b = hex('f09f9880e282ac41')
  for (let i = 0; i <= b.length; i++) {
    for (let j = i; j <= b.length; j++) assert.ok(chopped(b, [i, j]), `${i},${j}`)
  }
})

test('agrees with TextDecoder in fatal mode on arbitrary bytes, whole and chopped', () => {
  const utf8ish = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.string({ unit: 'binary', maxLength: 32 }).map((s) => new Uint8Array(Buffer.from(s))),
    fc
      .array(
        fc.oneof(
          fc.integer({ min: 0, max: 0xff }),
          fc.constantFrom(0x80, 0xbf, 0xc2, 0xe0, 0xed, 0xf0, 0xf4, 0xf5),
        ),
        {
          maxLength: 40,
        },
      )
      .map((a) => Uint8Array.from(a)),
  )
  fc.assert(
    fc.property(utf8ish, fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
      const expected = reference(bytes)
      assert.equal(chopped(bytes, []), expected)
      assert.equal(chopped(bytes, cuts), expected)
    }),
    { numRuns: 3000 },
  )
})

test('agrees with TextDecoder when fed byte by byte', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 24 }), (bytes) => {
      const cuts = Array.from({ length: bytes.length }, (_, i) => i)
      assert.equal(chopped(bytes, cuts), reference(bytes))
    }),
    { numRuns: 1000 },
  )
})
