/**
 * Group 10: the server may fragment what it sends; the client must get the whole message back,
 * in valid frames, and control frames may interleave.
 */

import { asciiOf, bytesOf, echo, f, fragments, m } from '../build.ts'
import type { Case } from '../case.ts'
import { Opcode } from '../frame.ts'

export function autoFragmentationCases(): Case[] {
  const text = asciiOf(65536)
  const bin = bytesOf(200_000, 9)
  const withPings: Buffer[] = []
  const parts = fragments(Opcode.binary, bin, 10_000)
  parts.forEach((p, i) => {
    withPings.push(p)
    if (i < parts.length - 1 && i % 5 === 0) withPings.push(f.ping(`p${i}`))
  })
  const pongs = parts.slice(0, -1).flatMap((_, i) => (i % 5 === 0 ? [m.pong(`p${i}`)] : []))
  return [
    echo(
      '10.1',
      'returns a 64 KiB text message whole, however the server frames it',
      [f.text(text)],
      [m.text(text)],
    ),
    echo(
      '10.2',
      'returns a binary message sent in 1000-byte fragments whole',
      fragments(Opcode.binary, bin, 1000),
      [m.binary(bin)],
    ),
    echo(
      '10.3',
      'answers pings between fragments of a large message before echoing it',
      withPings,
      [...pongs, m.binary(bin)],
    ),
    echo(
      '10.4',
      'echoes three messages of growing size in order',
      [f.text(asciiOf(10)), f.text(asciiOf(10_000)), f.text(asciiOf(100_000))],
      [m.text(asciiOf(10)), m.text(asciiOf(10_000)), m.text(asciiOf(100_000))],
    ),
  ]
}
