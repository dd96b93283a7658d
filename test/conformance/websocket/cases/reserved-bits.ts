/** Group 3: RSV bits without a negotiated extension fail the connection with 1002 (RFC 6455 §5.2). */

import { f, fail, m } from '../build.ts'
import type { Case } from '../case.ts'

const NAMES: Record<number, string> = {
  1: 'RSV3',
  2: 'RSV2',
  3: 'RSV2+RSV3',
  4: 'RSV1',
  5: 'RSV1+RSV3',
  6: 'RSV1+RSV2',
  7: 'all three RSV bits',
}

export function reservedBitsCases(): Case[] {
  const cases: Case[] = []
  for (let rsv = 1; rsv <= 7; rsv++) {
    const name = NAMES[rsv]!
    cases.push(
      fail(
        `3.1.${rsv}`,
        `refuses a text frame with ${name} set with 1002`,
        [f.text('rsv', { rsv })],
        [],
        1002,
      ),
      fail(
        `3.2.${rsv}`,
        `echoes a clean message, then refuses a binary frame with ${name} and answers no later ping`,
        [f.text('clean'), f.binary('x', { rsv }), f.ping('after')],
        [m.text('clean')],
        1002,
      ),
    )
  }
  cases.push(
    fail(
      '3.3.1',
      'refuses a ping with RSV1 set with 1002 and sends no pong',
      [f.ping('p', { rsv: 4 })],
      [],
      1002,
    ),
    fail(
      '3.3.2',
      'refuses a close frame with RSV2 set with 1002',
      [f.close(1000, '', { rsv: 2 })],
      [],
      1002,
    ),
    fail('3.3.3', 'refuses a pong with RSV3 set with 1002', [f.pong('p', { rsv: 1 })], [], 1002),
    fail(
      '3.3.4',
      'refuses a continuation frame with RSV1 set with 1002',
      [f.text('frag', { fin: false }), f.cont('ment', { rsv: 4 })],
      [],
      1002,
    ),
  )
  return cases
}
