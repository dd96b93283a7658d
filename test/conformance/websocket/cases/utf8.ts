/**
 * Group 6: UTF-8 in text messages (RFC 6455 §8.1, RFC 3629). Valid corpora are echoed whole,
 * however they are fragmented (including inside code points); invalid corpora fail with 1007,
 * and an invalid fragment fails the connection before the message is finished (fail fast).
 */

import { echo, f, fail, fragments, m } from '../build.ts'
import type { Case, ControlNote } from '../case.ts'
import { Opcode } from '../frame.ts'

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex')

/** Valid UTF-8, including U+0000, non-characters and the code point boundaries. */
const VALID: Array<[string, Buffer]> = [
  ['ASCII text', Buffer.from('Hello, WebSocket!')],
  ['mixed 1- to 4-byte text', Buffer.from('Grüße, κόσμε, 日本語, 🚀 and 𝄞')],
  ['U+0000', hex('00')],
  ['U+0080 and U+07FF (2-byte bounds)', hex('c280 dfbf')],
  ['U+0800 and U+FFFF (3-byte bounds)', hex('e0a080 efbfbf')],
  ['U+D7FF and U+E000 (around the surrogates)', hex('ed9fbf ee8080')],
  ['U+10000 and U+10FFFF (4-byte bounds)', hex('f0908080 f48fbfbf')],
  ['non-characters U+FFFE, U+FDD0 and U+1FFFF', hex('efbfbe efb790 f09fbfbf')],
  ['U+FEFF (byte order mark)', hex('efbbbf 61')],
]

/** Invalid UTF-8. `early` marks sequences that are wrong before the end of the message. */
const INVALID: Array<[string, Buffer, boolean]> = [
  ['a lone continuation byte 0x80', hex('61 80 62'), true],
  ['a lone continuation byte 0xBF', hex('bf'), true],
  ['a 2-byte lead followed by ASCII', hex('c2 41'), true],
  ['overlong U+0000 in 2 bytes (C0 80)', hex('c080'), true],
  ['overlong "/" in 2 bytes (C0 AF)', hex('c0af'), true],
  ['the never-valid lead byte C1', hex('c1bf'), true],
  ['overlong U+07FF in 3 bytes (E0 9F BF)', hex('e09fbf'), true],
  ['overlong "/" in 3 bytes (E0 80 AF)', hex('e080af'), true],
  ['overlong U+FFFF in 4 bytes (F0 8F BF BF)', hex('f08fbfbf'), true],
  ['overlong "/" in 4 bytes (F0 80 80 AF)', hex('f08080af'), true],
  ['the surrogate U+D800', hex('eda080'), true],
  ['the surrogate U+DBFF', hex('edafbf'), true],
  ['the surrogate U+DC00', hex('edb080'), true],
  ['the surrogate U+DFFF', hex('edbfbf'), true],
  ['a surrogate pair encoded as two 3-byte sequences', hex('eda0bd edb880'), true],
  ['U+110000, above the Unicode range', hex('f4908080'), true],
  ['the lead byte F5', hex('f5808080'), true],
  ['a 5-byte sequence', hex('f888808080'), true],
  ['a 6-byte sequence', hex('fc8480808080'), true],
  ['the bytes FE and FF', hex('fe ff'), true],
  [
    'a surrogate inside Greek text',
    Buffer.concat([Buffer.from('κόσμε'), hex('eda080'), Buffer.from('edited')]),
    true,
  ],
  [
    'a 3-byte sequence cut short at the end of the message',
    Buffer.concat([Buffer.from('euro '), hex('e282')]),
    false,
  ],
  [
    'a 4-byte sequence cut short at the end of the message',
    Buffer.concat([Buffer.from('rocket '), hex('f09f9a')]),
    false,
  ],
  ['a 2-byte lead byte at the end of the message', hex('61 c3'), false],
]

const wsValidatesAtEnd: ControlNote = {
  why: 'ws-lenient',
  note: 'ws checks UTF-8 once the whole message has arrived, so an invalid fragment inside an unfinished message goes unnoticed',
  expect: { close: 'none' },
  deadlineMs: 500,
}

export function utf8Cases(): Case[] {
  const cases: Case[] = []
  VALID.forEach(([name, bytes], i) => {
    const n = i + 1
    cases.push(
      echo(
        `6.1.${n}`,
        `echoes valid UTF-8 (${name}) sent in one frame`,
        [f.text(bytes)],
        [m.text(bytes)],
      ),
      echo(
        `6.2.${n}`,
        `echoes valid UTF-8 (${name}) sent one byte per fragment, splitting code points`,
        fragments(Opcode.text, bytes, 1),
        [m.text(bytes)],
      ),
    )
  })
  // Every two-fragment split of a string rich in multi-byte code points.
  const rich = Buffer.from('aé€🚀ü𝄞')
  for (let cut = 1; cut < rich.length; cut++) {
    cases.push(
      echo(
        `6.3.${cut}`,
        `echoes valid UTF-8 split into two fragments at byte ${cut}`,
        fragments(Opcode.text, rich, [cut]),
        [m.text(rich)],
      ),
    )
  }
  INVALID.forEach(([name, bytes, early], i) => {
    const n = i + 1
    cases.push(
      fail(
        `6.4.${n}`,
        `refuses a text message containing ${name} with 1007`,
        [f.text(bytes)],
        [],
        1007,
      ),
      fail(
        `6.5.${n}`,
        `refuses ${name} sent one byte per fragment with 1007`,
        fragments(Opcode.text, bytes, 1),
        [],
        1007,
      ),
    )
    if (early)
      cases.push(
        fail(
          `6.6.${n}`,
          `fails fast with 1007 on a fragment containing ${name}, before the message ends`,
          [f.text('valid start ', { fin: false }), f.cont(bytes, { fin: false })],
          [],
          1007,
          { deadlineMs: 2000, control: wsValidatesAtEnd },
        ),
      )
    cases.push(
      echo(
        `6.7.${n}`,
        `echoes ${name} untouched in a binary message`,
        [f.binary(bytes)],
        [m.binary(bytes)],
      ),
    )
  })
  cases.push(
    fail(
      '6.8.1',
      'fails fast with 1007 when a code point split across fragments turns out invalid',
      [f.text(hex('61 ed'), { fin: false }), f.cont(hex('a080'), { fin: false })],
      [],
      1007,
      { deadlineMs: 2000, control: wsValidatesAtEnd },
    ),
    echo(
      '6.8.2',
      'echoes a 4-byte code point split over three fragments',
      [f.text(hex('f0'), { fin: false }), f.cont(hex('9f'), { fin: false }), f.cont(hex('9a80'))],
      [m.text(hex('f09f9a80'))],
    ),
    fail(
      '6.8.3',
      'refuses a message whose last fragment ends inside a code point with 1007',
      [f.text(hex('61 e2'), { fin: false }), f.cont(hex('82'))],
      [],
      1007,
    ),
    fail(
      '6.8.4',
      'echoes a valid message, then refuses the invalid one after it with 1007',
      [f.text('fine'), f.text(hex('ff'))],
      [m.text('fine')],
      1007,
    ),
  )
  return cases
}
