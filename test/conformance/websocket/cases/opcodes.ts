/** Group 4: reserved opcodes 3–7 (data) and 11–15 (control) fail the connection with 1002. */

import { f, fail, m } from '../build.ts'
import type { Case } from '../case.ts'

export function opcodeCases(): Case[] {
  const cases: Case[] = []
  for (const op of [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) {
    const kind = op < 8 ? 'non-control' : 'control'
    cases.push(
      fail(
        `4.${op}.1`,
        `refuses an empty frame with reserved ${kind} opcode ${op} with 1002`,
        [f.raw({ opcode: op })],
        [],
        1002,
      ),
      fail(
        `4.${op}.2`,
        `echoes a message, then refuses reserved opcode ${op} with a payload and answers no later ping`,
        [f.text('before'), f.raw({ opcode: op, payload: 'reserved' }), f.ping('after')],
        [m.text('before')],
        1002,
      ),
    )
  }
  cases.push(
    fail(
      '4.16.1',
      'refuses reserved opcode 5 in the middle of a fragmented message with 1002',
      [f.text('a', { fin: false }), f.raw({ opcode: 5, payload: 'x', fin: false }), f.cont('b')],
      [],
      1002,
    ),
  )
  return cases
}
