/** Group 2: pings are answered by pongs carrying the same payload; unsolicited pongs are ignored. */

import { bytesOf, echo, f, fail, m } from '../build.ts'
import type { Case } from '../case.ts'

export function pingPongCases(): Case[] {
  const b125 = bytesOf(125, 3)
  const tenPings = Array.from({ length: 10 }, (_, i) => `ping ${i}`)
  return [
    echo('2.1', 'answers an empty ping with an empty pong', [f.ping()], [m.pong()]),
    echo(
      '2.2',
      'answers a ping carrying text with a pong carrying the same text',
      [f.ping('Hello, pong!')],
      [m.pong('Hello, pong!')],
    ),
    echo(
      '2.3',
      'answers a ping carrying arbitrary bytes with the same bytes',
      [f.ping(bytesOf(16, 200))],
      [m.pong(bytesOf(16, 200))],
    ),
    echo(
      '2.4',
      'answers a 125-byte ping, the largest allowed, with the same payload',
      [f.ping(b125)],
      [m.pong(b125)],
    ),
    fail(
      '2.5',
      'refuses a 126-byte ping with 1002 and sends no pong',
      [f.ping(bytesOf(126)), f.ping('after')],
      [],
      1002,
    ),
    echo('2.6', 'ignores an unsolicited empty pong', [f.pong()], []),
    echo('2.7', 'ignores an unsolicited pong carrying a payload', [f.pong('unsolicited')], []),
    echo(
      '2.8',
      'ignores an unsolicited pong and answers the ping after it',
      [f.pong('p'), f.ping('q')],
      [m.pong('q')],
    ),
    echo(
      '2.9',
      'answers ten pings in a row with ten pongs in order',
      tenPings.map((p) => f.ping(p)),
      tenPings.map((p) => m.pong(p)),
    ),
    echo(
      '2.10',
      'answers a ping whose payload is not valid UTF-8 (pings are not text)',
      [f.ping(Buffer.from([0xff, 0xfe, 0x80]))],
      [m.pong(Buffer.from([0xff, 0xfe, 0x80]))],
    ),
    fail('2.11', 'refuses a 126-byte pong with 1002', [f.pong(bytesOf(126))], [], 1002),
    echo(
      '2.12',
      'keeps ping, message and pong order: pong, echo, pong',
      [f.ping('a'), f.text('msg'), f.ping('b')],
      [m.pong('a'), m.text('msg'), m.pong('b')],
    ),
  ]
}
