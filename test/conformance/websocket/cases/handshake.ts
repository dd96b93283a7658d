/**
 * Group H: the opening handshake (RFC 6455 §4.2, issue item 2). Each request is delivered in the
 * four modes like any frame case; a 101 is followed by a short echo and a close.
 */
import { createHash } from 'node:crypto'
import { f, m } from '../build.ts'
import type { Case, ControlNote, Expect } from '../case.ts'
import type { HttpHead } from '../client.ts'
import { upgradeRequest } from '../client.ts'

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
const SAMPLE_KEY = 'dGhlIHNhbXBsZSBub25jZQ=='

type Req = Parameters<typeof upgradeRequest>[0]

const header =
  (name: string, test: (v: string | undefined) => boolean, what: string) =>
  (h: HttpHead): string | null =>
    test(h.get(name)) ? null : `${name}: ${JSON.stringify(h.get(name) ?? null)}, expected ${what}`

const tokens = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim().toLowerCase())

function upgraded(
  id: string,
  title: string,
  req: Req,
  x: { expect?: Expect; control?: ControlNote } = {},
): Case {
  return {
    id,
    group: 'H',
    title,
    request: upgradeRequest(req),
    frames: [f.text('after handshake'), f.close(1000)],
    clientCloses: true,
    expect: {
      status: [101],
      events: [m.text('after handshake')],
      close: [1000, 1005],
      ...x.expect,
    },
    control: x.control,
  }
}

function refused(
  id: string,
  title: string,
  req: Req | Buffer[],
  status: number[],
  x: { head?: Expect['head']; control?: ControlNote; maxResponseMs?: number } = {},
): Case {
  return {
    id,
    group: 'H',
    title,
    request: Array.isArray(req) ? req : upgradeRequest(req),
    // Should the server upgrade anyway (where that is allowed), the connection must then work.
    frames: [f.text('after handshake'), f.close(1000)],
    clientCloses: true,
    expect: {
      status,
      head: x.head,
      maxResponseMs: x.maxResponseMs,
      events: [m.text('after handshake')],
      close: [1000, 1005],
    },
    control: x.control,
  }
}

const lenient = (note: string, expect: Expect): ControlNote => ({ why: 'ws-lenient', note, expect })
const wsAcceptsIt = (note: string) =>
  lenient(note, {
    status: [101],
    events: [m.text('after handshake')],
    close: [1000, 1005],
    head: [],
  })

const wsVersion400 = lenient(
  'ws answers an unknown version with 400 and no Sec-WebSocket-Version header instead of 426 (RFC 6455 §4.4)',
  {
    status: [400],
    head: [],
  },
)

export function handshakeCases(): Case[] {
  const version426 = [header('sec-websocket-version', (v) => tokens(v).includes('13'), '13')]
  const bigList = Array.from({ length: 2000 }, (_, i) => `p${i}`).join(', ')
  const filler: Array<[string, string]> = Array.from({ length: 2050 }, () => ['X', '1'])
  const cases: Case[] = [
    upgraded(
      'H.1.1',
      'upgrades a valid request and returns the RFC 6455 accept value',
      { key: SAMPLE_KEY },
      {
        expect: {
          head: [
            header(
              'sec-websocket-accept',
              (v) =>
                v ===
                createHash('sha1')
                  .update(SAMPLE_KEY + GUID)
                  .digest('base64'),
              's3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
            ),
            header('upgrade', (v) => tokens(v).includes('websocket'), 'websocket'),
            header('connection', (v) => tokens(v).includes('upgrade'), 'Upgrade'),
          ],
        },
      },
    ),
    refused(
      'H.2.1',
      'refuses an upgrade request with method POST with 405',
      { method: 'POST' },
      [405],
    ),
    refused(
      'H.2.2',
      'refuses an upgrade request with method PUT with 405',
      { method: 'PUT' },
      [405],
    ),
    refused(
      'H.3.1',
      'refuses an HTTP/1.0 upgrade request with 400',
      { version: 'HTTP/1.0' },
      [400],
      {
        control: wsAcceptsIt('ws does not check the HTTP version of an upgrade request'),
      },
    ),
    refused(
      'H.3.2',
      'refuses an upgrade request without a Host header with 400',
      { host: null },
      [400],
      {
        control: wsAcceptsIt('ws does not require a Host header (Node lets the request through)'),
      },
    ),
    refused(
      'H.4.1',
      'refuses Upgrade: h2c on the WebSocket route with 400',
      { headers: [['Upgrade', 'h2c']] },
      [400],
    ),
    refused(
      'H.4.2',
      'refuses Upgrade: websocket without an upgrade token in Connection with 400',
      { headers: [['Connection', 'keep-alive']] },
      [400],
      {
        control: lenient(
          'Node does not emit "upgrade" without the Connection token, so ws answers as for a plain GET (426)',
          { status: [426] },
        ),
      },
    ),
    upgraded('H.4.3', 'accepts an upgrade token inside a Connection list', {
      headers: [['Connection', 'keep-alive, Upgrade']],
    }),
    upgraded('H.4.4', 'accepts Upgrade and Connection tokens in any letter case', {
      headers: [
        ['Upgrade', 'WebSocket'],
        ['Connection', 'UPGRADE'],
      ],
    }),
    refused(
      'H.4.5',
      'answers a plain GET on the WebSocket route with 426 and Upgrade: websocket',
      [Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')],
      [426],
      {
        head: [header('upgrade', (v) => tokens(v).includes('websocket'), 'websocket')],
        control: lenient(
          'the 426 of a ws standalone server carries no Upgrade header (RFC 9110 §15.5.22 requires it)',
          { head: [] },
        ),
      },
    ),
    refused(
      'H.4.6',
      'refuses a request with Connection: Upgrade but no Upgrade header with 400 or 426',
      { omit: ['Upgrade'] },
      [400, 426],
    ),
    refused('H.5.1', 'refuses a request without Sec-WebSocket-Key with 400', { key: null }, [400]),
    refused(
      'H.5.2',
      'refuses a Sec-WebSocket-Key that is not base64 with 400',
      { key: 'not base64 at all!!' },
      [400],
    ),
    refused(
      'H.5.3',
      'refuses a Sec-WebSocket-Key that decodes to 15 bytes with 400',
      { key: Buffer.alloc(15, 1).toString('base64') },
      [400],
    ),
    refused(
      'H.5.4',
      'refuses a Sec-WebSocket-Key that decodes to 17 bytes with 400',
      { key: Buffer.alloc(17, 1).toString('base64') },
      [400],
    ),
    refused('H.5.5', 'refuses an empty Sec-WebSocket-Key with 400', { key: '' }, [400]),
    refused(
      'H.5.6',
      'refuses two Sec-WebSocket-Key headers with 400',
      {
        headers: [
          ['Sec-WebSocket-Key', SAMPLE_KEY],
          ['Sec-WebSocket-Key', SAMPLE_KEY],
        ],
      },
      [400],
    ),
    refused(
      'H.6.1',
      'refuses Sec-WebSocket-Version 8 with 426 and Sec-WebSocket-Version: 13',
      { headers: [['Sec-WebSocket-Version', '8']] },
      [426],
      {
        head: version426,
        control: wsAcceptsIt('ws still accepts the draft version 8'),
      },
    ),
    refused(
      'H.6.2',
      'refuses Sec-WebSocket-Version 12 with 426 and Sec-WebSocket-Version: 13',
      { headers: [['Sec-WebSocket-Version', '12']] },
      [426],
      { head: version426, control: wsVersion400 },
    ),
    refused(
      'H.6.3',
      'refuses Sec-WebSocket-Version 14 with 426 and Sec-WebSocket-Version: 13',
      { headers: [['Sec-WebSocket-Version', '14']] },
      [426],
      { head: version426, control: wsVersion400 },
    ),
    // Not a version at all by the ABNF of RFC 6455 §4.1: a malformed request (400, §4.2.1) or
    // an unsupported version (426 naming 13, §4.4) are both correct answers.
    refused(
      'H.6.4',
      'refuses a non-numeric Sec-WebSocket-Version with 400, or with 426 and Sec-WebSocket-Version: 13',
      { headers: [['Sec-WebSocket-Version', 'thirteen']] },
      [400, 426],
      { head: [(h) => (h.status === 426 ? version426[0]!(h) : null)] },
    ),
    refused(
      'H.6.5',
      'refuses a request without Sec-WebSocket-Version with 400 or 426',
      { omit: ['Sec-WebSocket-Version'] },
      [400, 426],
    ),
    upgraded(
      'H.7.1',
      'answers a subprotocol offer only with an offered protocol, if any',
      { headers: [['Sec-WebSocket-Protocol', 'chat, superchat']] },
      {
        expect: {
          head: [
            header(
              'sec-websocket-protocol',
              (v) => v === undefined || v === 'chat' || v === 'superchat',
              'absent, chat or superchat',
            ),
          ],
        },
      },
    ),
    upgraded(
      'H.7.2',
      'sends no Sec-WebSocket-Protocol when none was offered',
      {},
      {
        expect: { head: [header('sec-websocket-protocol', (v) => v === undefined, 'absent')] },
      },
    ),
    upgraded(
      'H.7.3',
      'answers subprotocols offered on two header lines with one of them, if any',
      {
        headers: [
          ['Sec-WebSocket-Protocol', 'chat'],
          ['Sec-WebSocket-Protocol', 'superchat'],
        ],
      },
      {
        expect: {
          head: [
            header(
              'sec-websocket-protocol',
              (v) => v === undefined || v === 'chat' || v === 'superchat',
              'absent, chat or superchat',
            ),
          ],
        },
      },
    ),
    refused(
      'H.7.4',
      'refuses an empty Sec-WebSocket-Protocol with 400',
      { headers: [['Sec-WebSocket-Protocol', '']] },
      [400],
    ),
    refused(
      'H.7.5',
      'refuses a duplicated subprotocol with 400',
      { headers: [['Sec-WebSocket-Protocol', 'chat, chat']] },
      [400],
    ),
    refused(
      'H.7.6',
      'refuses a subprotocol that is not a token with 400',
      { headers: [['Sec-WebSocket-Protocol', 'ch@t']] },
      [400],
    ),
    refused(
      'H.7.7',
      'refuses a subprotocol list with an empty element with 400',
      { headers: [['Sec-WebSocket-Protocol', 'chat,,superchat']] },
      [400],
    ),
    refused(
      'H.8.1',
      'refuses an empty Sec-WebSocket-Extensions with 400',
      { headers: [['Sec-WebSocket-Extensions', '']] },
      [400],
    ),
    refused(
      'H.8.2',
      'refuses an extension name that is not a token with 400',
      { headers: [['Sec-WebSocket-Extensions', 'perm@ssage-deflate']] },
      [400],
    ),
    refused(
      'H.8.3',
      'refuses an extension list with an empty parameter with 400',
      { headers: [['Sec-WebSocket-Extensions', 'permessage-deflate;;']] },
      [400],
    ),
    refused(
      'H.8.4',
      'refuses an unterminated quoted parameter value with 400',
      { headers: [['Sec-WebSocket-Extensions', 'permessage-deflate; server_max_window_bits="10']] },
      [400],
    ),
    upgraded(
      'H.8.5',
      'ignores an unknown extension and answers no extension',
      { headers: [['Sec-WebSocket-Extensions', 'x-unknown; a=1']] },
      {
        expect: { head: [header('sec-websocket-extensions', (v) => v === undefined, 'absent')] },
      },
    ),
    {
      ...upgraded('H.9.1', 'processes frames sent in the same write as the upgrade request', {}),
      request: (() => {
        const lines = upgradeRequest({})
        lines.push(Buffer.concat([lines.pop()!, f.text('early'), f.close(1000)]))
        return lines
      })(),
      frames: [],
      expect: { status: [101], events: [m.text('early')], close: [1000, 1005] },
    },
    refused(
      'H.10.1',
      'parses a 2,000-item subprotocol list in linear time',
      { headers: [['Sec-WebSocket-Protocol', bigList]] },
      [101, 400],
      { maxResponseMs: 1000 },
    ),
    refused(
      'H.10.2',
      'rejects 12,000 spaces inside a subprotocol list in linear time',
      { headers: [['Sec-WebSocket-Protocol', `a${' '.repeat(12000)}!`]] },
      [400],
      { maxResponseMs: 1000 },
    ),
    refused(
      'H.10.3',
      'parses an extension offer with 3,000 parameters in linear time',
      { headers: [['Sec-WebSocket-Extensions', `permessage-deflate${'; x'.repeat(3000)}=`]] },
      [101, 400],
      { maxResponseMs: 1000 },
    ),
    refused(
      'H.10.4',
      'parses 6,000 empty extension list elements in linear time',
      { headers: [['Sec-WebSocket-Extensions', `a${',\t'.repeat(6000)}`]] },
      [101, 400],
      { maxResponseMs: 1000 },
    ),
    refused(
      'H.10.5',
      'parses an unterminated quoted string of 5,000 escapes in linear time',
      { headers: [['Sec-WebSocket-Extensions', `permessage-deflate; a="${'\\\\'.repeat(5000)}`]] },
      [101, 400],
      { maxResponseMs: 1000 },
    ),
    upgraded('H.10.6', 'finds the upgrade token after 3,000 other Connection tokens', {
      headers: [['Connection', `${'x, '.repeat(3000)}Upgrade`]],
    }),
    refused(
      'H.11.1',
      'answers 400 when Node dropped the WebSocket headers past its header count limit',
      {
        omit: ['Upgrade', 'Connection', 'Sec-WebSocket-Key', 'Sec-WebSocket-Version'],
        headers: [
          ...filler,
          ['Upgrade', 'websocket'],
          ['Connection', 'Upgrade'],
          ['Sec-WebSocket-Key', SAMPLE_KEY],
          ['Sec-WebSocket-Version', '13'],
        ],
      },
      [400, 431],
    ),
    // Node 20 drops headers past maxHeadersCount and upgrades; newer Node refuses the request
    // with 431. Either is a correct answer; a crash or a hang is not.
    refused(
      'H.11.2',
      'upgrades or answers 431 when 2,050 extra headers follow the WebSocket headers',
      {
        headers: [
          ['Upgrade', 'websocket'],
          ['Connection', 'Upgrade'],
          ['Sec-WebSocket-Key', SAMPLE_KEY],
          ['Sec-WebSocket-Version', '13'],
          ...filler,
        ],
      },
      [101, 431],
    ),
  ]
  // Node 22+ refuses a head over maxHeadersCount with 431, but when that head arrives over many
  // writes its upgrade path answers nothing until headersTimeout: the `ws` control behaves the
  // same, so it is Node's parser, not either server. There the H.11 cases run only in the modes
  // that deliver the head in large pieces.
  if (Number(process.versions.node.split('.')[0]) >= 22) {
    for (const c of cases) if (c.id.startsWith('H.11.')) c.modes = ['whole', 'bytes']
  }
  return cases
}
