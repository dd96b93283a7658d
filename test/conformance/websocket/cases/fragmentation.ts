/** Group 5: fragmented messages, control frames between fragments, continuation rules (RFC 6455 §5.4). */

import { echo, f, fail, fragments, m } from '../build.ts'
import type { Case } from '../case.ts'
import { Opcode } from '../frame.ts'

export function fragmentationCases(): Case[] {
  const word = 'fragmentation'
  const perByte: Buffer[] = []
  for (let i = 0; i < word.length; i++) {
    perByte.push(
      i === 0 ? f.text(word[i]!, { fin: false }) : f.cont(word[i]!, { fin: i === word.length - 1 }),
    )
    if (i < word.length - 1) perByte.push(f.ping(`p${i}`))
  }
  const pongs = Array.from({ length: word.length - 1 }, (_, i) => m.pong(`p${i}`))
  return [
    fail(
      '5.1',
      'refuses a ping split into two fragments with 1002',
      [f.ping('frag', { fin: false }), f.cont('ment')],
      [],
      1002,
    ),
    fail(
      '5.2',
      'refuses a pong split into two fragments with 1002',
      [f.pong('frag', { fin: false }), f.cont('ment')],
      [],
      1002,
    ),
    echo(
      '5.3',
      'reassembles a text message sent in two fragments',
      fragments(Opcode.text, 'fragment', 4),
      [m.text('fragment')],
    ),
    echo(
      '5.4',
      'answers a ping sent between two fragments before echoing the message',
      [f.text('frag', { fin: false }), f.ping('between'), f.cont('ment')],
      [m.pong('between'), m.text('fragment')],
    ),
    echo('5.5', 'handles one-byte fragments with a ping after each', perByte, [
      ...pongs,
      m.text(word),
    ]),
    fail(
      '5.6',
      'refuses a final continuation frame with no message open with 1002',
      [f.cont('orphan')],
      [],
      1002,
    ),
    fail(
      '5.7',
      'refuses a non-final continuation frame with no message open with 1002',
      [f.cont('orphan', { fin: false }), f.cont('x')],
      [],
      1002,
    ),
    fail(
      '5.8',
      'refuses a new text frame inside an unfinished text message with 1002',
      [f.text('one', { fin: false }), f.text('two')],
      [],
      1002,
    ),
    fail(
      '5.9',
      'refuses a binary frame inside an unfinished text message with 1002',
      [f.text('one', { fin: false }), f.binary('two'), f.cont('three')],
      [],
      1002,
    ),
    echo(
      '5.10',
      'reassembles a message whose first, middle and last fragments are empty',
      [
        f.text('', { fin: false }),
        f.cont('a', { fin: false }),
        f.cont('', { fin: false }),
        f.cont('b', { fin: false }),
        f.cont(''),
      ],
      [m.text('ab')],
    ),
    echo(
      '5.11',
      'reassembles a binary message sent in three fragments',
      fragments(Opcode.binary, Buffer.from([0, 1, 2, 3, 4, 5, 6]), 3),
      [m.binary(Buffer.from([0, 1, 2, 3, 4, 5, 6]))],
    ),
    echo(
      '5.12',
      'accepts a close frame in the middle of a fragmented message and echoes nothing',
      [f.text('unfinished', { fin: false })],
      [],
    ),
    fail(
      '5.13',
      'refuses a close frame with FIN clear with 1002',
      [f.close(1000, '', { fin: false }), f.cont('')],
      [],
      1002,
    ),
    fail(
      '5.14',
      'echoes a complete message, then refuses a continuation frame after it with 1002',
      [f.text('done'), f.cont('late')],
      [m.text('done')],
      1002,
    ),
    echo(
      '5.15',
      'reassembles two fragmented messages sent back to back',
      [...fragments(Opcode.text, 'first one', 3), ...fragments(Opcode.binary, 'second', 2)],
      [m.text('first one'), m.binary('second')],
    ),
    echo(
      '5.16',
      'ignores an unsolicited pong and answers a ping between fragments',
      [
        f.text('a', { fin: false }),
        f.pong('unsolicited'),
        f.cont('b', { fin: false }),
        f.ping('p'),
        f.cont('c'),
      ],
      [m.pong('p'), m.text('abc')],
    ),
    echo(
      '5.17',
      'reassembles a text message sent as 200 fragments of one byte',
      fragments(Opcode.text, 'x'.repeat(200), 1),
      [m.text('x'.repeat(200))],
    ),
  ]
}
