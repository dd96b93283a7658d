/**
 * Group 9: large messages, scaled down from the usual 16 MiB so the suite stays fast, plus the
 * maxPayload limit (16 MiB on both targets) enforced across fragments.
 */

import { asciiOf, bytesOf, echo, f, fail, fragments, m } from '../build.ts'
import type { Case } from '../case.ts'
import { Opcode } from '../frame.ts'

const KiB = 1024
const MiB = 1024 * KiB

export function largeCases(): Case[] {
  const cases: Case[] = []
  const sizes = [64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB]
  sizes.forEach((n, i) => {
    const text = asciiOf(n)
    const bin = bytesOf(n, 11)
    cases.push(
      echo(
        `9.1.${i + 1}`,
        `echoes a ${n / KiB} KiB text message sent in one frame`,
        [f.text(text)],
        [m.text(text)],
        { deadlineMs: 10_000 },
      ),
      echo(
        `9.2.${i + 1}`,
        `echoes a ${n / KiB} KiB binary message sent in one frame`,
        [f.binary(bin)],
        [m.binary(bin)],
        { deadlineMs: 10_000 },
      ),
    )
  })
  const oneMiB = bytesOf(MiB, 5)
  ;[64, 256, KiB, 4 * KiB, 16 * KiB, 64 * KiB].forEach((size, i) => {
    cases.push(
      echo(
        `9.3.${i + 1}`,
        `echoes a 1 MiB binary message sent in fragments of ${size} bytes`,
        fragments(Opcode.binary, oneMiB, size),
        [m.binary(oneMiB)],
        { deadlineMs: 10_000 },
      ),
    )
  })
  const utf8 = Buffer.from('κόσμε🚀'.repeat(40000))
  cases.push(
    echo(
      '9.4.1',
      `echoes a ${utf8.length}-byte multi-byte UTF-8 text message in 997-byte fragments`,
      fragments(Opcode.text, utf8, 997),
      [m.text(utf8)],
      {
        deadlineMs: 10_000,
      },
    ),
    fail(
      '9.5.1',
      'refuses with 1009 a fragmented message whose total passes 16 MiB, at the header of the frame that crosses it',
      [
        f.binary(bytesOf(MiB), { fin: false }),
        f.raw({ opcode: Opcode.continuation, length: 15 * MiB + 1, payload: 'x', fin: false }),
      ],
      [],
      1009,
      { deadlineMs: 10_000 },
    ),
  )
  return cases
}
