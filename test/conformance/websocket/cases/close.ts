/**
 * Group 7: the close handshake (RFC 6455 §5.5.1, §7.4): payload lengths, valid and invalid
 * codes, reason encoding, and frames that arrive after a close.
 */

import { asciiOf, f, fail, m } from '../build.ts'
import type { Case } from '../case.ts'

const VALID_CODES = [
  1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999,
]
const INVALID_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]

function closeCase(
  id: string,
  title: string,
  frames: Buffer[],
  events = [] as ReturnType<typeof m.text>[],
  codes = [1000, 1005],
): Case {
  return { ...fail(id, title, frames, events, codes), clientCloses: true }
}

export function closeCases(): Case[] {
  const cases: Case[] = [
    closeCase('7.1.1', 'answers a close 1000 with a close and closes the TCP connection', [
      f.close(1000),
    ]),
    closeCase('7.1.2', 'answers a close with an empty payload', [f.close()]),
    closeCase('7.1.3', 'sends nothing for a text frame that follows the close', [
      f.close(1000),
      f.text('too late'),
    ]),
    closeCase('7.1.4', 'answers no ping that follows the close', [
      f.close(1000),
      f.ping('too late'),
    ]),
    closeCase('7.1.5', 'answers only the first of two close frames', [
      f.close(1000),
      f.close(1001),
    ]),
    closeCase(
      '7.1.6',
      'echoes a message, then answers the close that follows it',
      [f.text('last words'), f.close(1000)],
      [m.text('last words')],
    ),
    fail(
      '7.2.1',
      'refuses a close frame with a 1-byte payload with 1002',
      [f.closeRaw(Buffer.from([0x03]))],
      [],
      1002,
    ),
    closeCase('7.2.2', 'answers a close with a code and a 123-byte reason (125-byte payload)', [
      f.close(1000, asciiOf(123)),
    ]),
    fail(
      '7.2.3',
      'refuses a close frame with a 126-byte payload with 1002',
      [f.close(1000, asciiOf(124))],
      [],
      1002,
    ),
    closeCase('7.2.4', 'answers a close whose reason is multi-byte UTF-8', [
      f.close(1000, 'Tschüß, κόσμε 🚀'),
    ]),
    fail(
      '7.2.5',
      'refuses a close whose reason is not valid UTF-8 with 1007',
      [f.close(1000, Buffer.from([0x61, 0xed, 0xa0, 0x80]))],
      [],
      1007,
    ),
    fail(
      '7.2.6',
      'refuses a close whose reason ends inside a code point with 1007',
      [f.close(1000, Buffer.from([0xe2, 0x82]))],
      [],
      1007,
    ),
  ]
  VALID_CODES.forEach((code, i) => {
    cases.push(
      closeCase(
        `7.3.${i + 1}`,
        `answers a close with the valid code ${code}`,
        [f.close(code)],
        [],
        [1000, code],
      ),
    )
  })
  INVALID_CODES.forEach((code, i) => {
    cases.push(
      fail(
        `7.4.${i + 1}`,
        `refuses a close with the invalid code ${code} with 1002`,
        [f.close(code)],
        [],
        1002,
      ),
    )
  })
  return cases
}
