/** Group 1: framing at every payload-length encoding boundary, length corner cases, masking. */

import { asciiOf, bytesOf, echo, f, fail, m } from '../build.ts'
import type { Case } from '../case.ts'
import { Opcode } from '../frame.ts'

const SIZES = [0, 1, 125, 126, 127, 128, 65535, 65536, 65537]

export function framingCases(): Case[] {
  const cases: Case[] = []
  SIZES.forEach((n, i) => {
    const text = asciiOf(n)
    cases.push(
      echo(
        `1.1.${i + 1}`,
        `echoes a ${n}-byte text message sent in one frame`,
        [f.text(text)],
        [m.text(text)],
      ),
    )
  })
  SIZES.forEach((n, i) => {
    const bin = bytesOf(n, 7)
    cases.push(
      echo(
        `1.2.${i + 1}`,
        `echoes a ${n}-byte binary message sent in one frame`,
        [f.binary(bin)],
        [m.binary(bin)],
      ),
    )
  })
  cases.push(
    fail(
      '1.3.1',
      'refuses a 64-bit payload length with its most significant bit set with 1002',
      [f.raw({ opcode: Opcode.binary, length: 2n ** 63n + 5n, payload: 'abcde' })],
      [],
      1002,
      {
        control: {
          why: 'ws-lenient',
          note: 'ws checks lengths against 2^53 - 1 first and closes with 1009; RFC 6455 §5.2 makes the set top bit a protocol error (1002)',
          expect: { close: [1009] },
        },
      },
    ),
    fail(
      '1.3.2',
      'refuses a frame announcing 16 MiB + 1 bytes with 1009 as soon as the header is read',
      [f.raw({ opcode: Opcode.binary, length: 16 * 1024 * 1024 + 1, payload: 'only the start' })],
      [],
      1009,
    ),
    echo(
      '1.3.3',
      'echoes a frame masked with the all-zero key',
      [f.text('zero key', { maskKey: Buffer.alloc(4) })],
      [m.text('zero key')],
    ),
    fail(
      '1.4.1',
      'refuses an unmasked text frame with 1002',
      [f.text('unmasked', { masked: false })],
      [],
      1002,
    ),
    fail(
      '1.4.2',
      'refuses an unmasked ping with 1002 and sends no pong',
      [f.ping('x', { masked: false })],
      [],
      1002,
    ),
    fail(
      '1.4.3',
      'echoes a masked message, then refuses an unmasked binary frame with 1002',
      [f.text('first'), f.binary('second', { masked: false }), f.ping('after')],
      [m.text('first')],
      1002,
    ),
    fail(
      '1.4.4',
      'refuses an unmasked close frame with 1002',
      [f.close(1000, '', { masked: false })],
      [],
      1002,
    ),
  )
  return cases
}
