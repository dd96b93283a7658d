import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { test } from 'node:test'
import {
  acceptKey,
  checkHandshake,
  type HandshakeRules,
  listHasToken,
  parseExtensions,
  parseProtocols,
} from './handshake.ts'
import { resolveWsRoute } from './route.ts'

const KEY = 'dGhlIHNhbXBsZSBub25jZQ=='

function req(
  headers: Record<string, string | undefined>,
  over: Partial<Pick<IncomingMessage, 'method' | 'httpVersionMajor' | 'httpVersionMinor'>> = {},
): IncomingMessage {
  const base: Record<string, string | undefined> = {
    host: 'example.com',
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-key': KEY,
    'sec-websocket-version': '13',
    ...headers,
  }
  const h: Record<string, string> = {}
  const raw: string[] = []
  for (const [k, v] of Object.entries(base)) {
    if (v === undefined) continue
    h[k] = v
    raw.push(k, v)
  }
  return {
    method: 'GET',
    httpVersionMajor: 1,
    httpVersionMinor: 1,
    headers: h,
    rawHeaders: raw,
    ...over,
  } as unknown as IncomingMessage
}

const RULES: HandshakeRules = resolveWsRoute({}).rules
const rules = (b: Parameters<typeof resolveWsRoute>[0]) => resolveWsRoute(b).rules

test('computes the Sec-WebSocket-Accept of RFC 6455 §1.3', () => {
  assert.equal(acceptKey(KEY), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=')
})

test('accepts a valid handshake with no subprotocol or extension', () => {
  assert.deepEqual(checkHandshake(req({}), RULES, false), { key: KEY, protocol: '', deflate: null })
})

const refusals: [string, IncomingMessage, string, Record<string, string>?][] = [
  ['a POST', req({}, { method: 'POST' }), 'SWB_ERR_WS_METHOD_NOT_ALLOWED', { Allow: 'GET' }],
  ['HTTP/1.0', req({}, { httpVersionMinor: 0 }), 'SWB_ERR_WS_HTTP_VERSION'],
  ['a missing Host', req({ host: undefined }), 'SWB_ERR_WS_MISSING_HOST'],
  ['an empty Host', req({ host: '' }), 'SWB_ERR_WS_MISSING_HOST'],
  ['Upgrade: h2c', req({ upgrade: 'h2c' }), 'SWB_ERR_WS_INVALID_UPGRADE'],
  [
    'a missing Upgrade (Node dropped it)',
    req({ upgrade: undefined }),
    'SWB_ERR_WS_INVALID_UPGRADE',
  ],
  ['Connection: keep-alive', req({ connection: 'keep-alive' }), 'SWB_ERR_WS_INVALID_UPGRADE'],
  [
    'a missing version',
    req({ 'sec-websocket-version': undefined }),
    'SWB_ERR_WS_INVALID_VERSION',
    { 'Sec-WebSocket-Version': '13' },
  ],
  [
    'version 8',
    req({ 'sec-websocket-version': '8' }),
    'SWB_ERR_WS_UNSUPPORTED_VERSION',
    { 'Sec-WebSocket-Version': '13' },
  ],
  [
    'version "abc"',
    req({ 'sec-websocket-version': 'abc' }),
    'SWB_ERR_WS_UNSUPPORTED_VERSION',
    { 'Sec-WebSocket-Version': '13' },
  ],
  [
    'two versions',
    req({ 'sec-websocket-version': '13, 8' }),
    'SWB_ERR_WS_UNSUPPORTED_VERSION',
    { 'Sec-WebSocket-Version': '13' },
  ],
  ['a missing key', req({ 'sec-websocket-key': undefined }), 'SWB_ERR_WS_INVALID_KEY'],
  [
    'a key of 15 bytes',
    req({ 'sec-websocket-key': Buffer.alloc(15).toString('base64') }),
    'SWB_ERR_WS_INVALID_KEY',
  ],
  [
    'a key of 17 bytes',
    req({ 'sec-websocket-key': Buffer.alloc(17).toString('base64') }),
    'SWB_ERR_WS_INVALID_KEY',
  ],
  [
    'a repeated key (joined by Node)',
    req({ 'sec-websocket-key': `${KEY}, ${KEY}` }),
    'SWB_ERR_WS_INVALID_KEY',
  ],
  [
    'an empty protocol header',
    req({ 'sec-websocket-protocol': '' }),
    'SWB_ERR_WS_INVALID_PROTOCOL_HEADER',
  ],
  [
    'an empty protocol element',
    req({ 'sec-websocket-protocol': 'a,,b' }),
    'SWB_ERR_WS_INVALID_PROTOCOL_HEADER',
  ],
  [
    'a duplicate protocol',
    req({ 'sec-websocket-protocol': 'chat, chat' }),
    'SWB_ERR_WS_INVALID_PROTOCOL_HEADER',
  ],
  [
    'a non-token protocol',
    req({ 'sec-websocket-protocol': 'a b' }),
    'SWB_ERR_WS_INVALID_PROTOCOL_HEADER',
  ],
  [
    'an empty extensions header',
    req({ 'sec-websocket-extensions': '' }),
    'SWB_ERR_WS_INVALID_EXTENSIONS_HEADER',
  ],
  [
    'a malformed extension',
    req({ 'sec-websocket-extensions': 'permessage-deflate;' }),
    'SWB_ERR_WS_INVALID_EXTENSIONS_HEADER',
  ],
]

for (const [name, r, code, headers] of refusals) {
  test(`refuses ${name} with ${code}`, () => {
    const out = checkHandshake(r, RULES, false)
    assert.equal(out.error, code)
    if (headers) assert.deepEqual((out as { headers?: unknown }).headers, headers)
  })
}

test('refuses two Host headers', () => {
  const r = req({})
  r.rawHeaders.push('Host', 'other.example')
  assert.equal(checkHandshake(r, RULES, false).error, 'SWB_ERR_WS_MISSING_HOST')
})

test('a plain GET (no Upgrade) on the route is told 426 with Upgrade: websocket', () => {
  const out = checkHandshake(req({ upgrade: undefined, connection: 'keep-alive' }), RULES, true)
  assert.equal(out.error, 'SWB_ERR_WS_UPGRADE_REQUIRED')
  assert.equal((out as { headers: Record<string, string> }).headers.Upgrade, 'websocket')
})

test('enforces allowedOrigins as a list (case-insensitive) and as a predicate', () => {
  const list = rules({ allowedOrigins: ['https://App.example'] })
  assert.equal(checkHandshake(req({ origin: 'https://app.example' }), list, false).error, undefined)
  assert.equal(
    checkHandshake(req({ origin: 'https://evil.example' }), list, false).error,
    'SWB_ERR_WS_ORIGIN_FORBIDDEN',
  )
  assert.equal(checkHandshake(req({}), list, false).error, 'SWB_ERR_WS_ORIGIN_FORBIDDEN')
  const fn = rules({ allowedOrigins: (o) => o.endsWith('.example') })
  assert.equal(checkHandshake(req({ origin: 'https://a.example' }), fn, false).error, undefined)
  assert.equal(
    checkHandshake(req({ origin: 'https://a.test' }), fn, false).error,
    'SWB_ERR_WS_ORIGIN_FORBIDDEN',
  )
})

test('refuses a cross-origin upgrade by default, and allows the same origin and a client without Origin', () => {
  const def = rules({})
  const check = (headers: Record<string, string | undefined>) =>
    checkHandshake(req(headers), def, false).error
  assert.equal(check({ origin: 'https://evil.example' }), 'SWB_ERR_WS_ORIGIN_FORBIDDEN')
  assert.equal(check({ origin: 'null' }), 'SWB_ERR_WS_ORIGIN_FORBIDDEN')
  assert.equal(check({ origin: 'http://example.com:8080' }), 'SWB_ERR_WS_ORIGIN_FORBIDDEN')
  assert.equal(check({ origin: 'https://example.com' }), undefined)
  assert.equal(check({ origin: 'https://EXAMPLE.com', host: 'example.com:443' }), undefined)
  assert.equal(check({ origin: 'http://127.0.0.1:8080', host: '127.0.0.1:8080' }), undefined)
  assert.equal(check({}), undefined) // Node clients send no Origin: not a browser page
  const any = rules({ allowedOrigins: 'any' })
  assert.equal(checkHandshake(req({ origin: 'https://evil.example' }), any, false).error, undefined)
  assert.throws(() => rules({ allowedOrigins: '*' as never }), { code: 'SWB_ERR_INVALID_OPTION' })
})

test('answers only with a subprotocol the client offered, in the client order', () => {
  const r = rules({ subprotocols: ['v2', 'v1'] })
  const pick = (offer: string) =>
    (checkHandshake(req({ 'sec-websocket-protocol': offer }), r, false) as { protocol: string })
      .protocol
  assert.equal(pick('v1, v2'), 'v1')
  assert.equal(pick('v3, v2'), 'v2')
  assert.equal(pick('v3'), '')
  assert.equal(
    (checkHandshake(req({ 'sec-websocket-protocol': 'v1' }), RULES, false) as { protocol: string })
      .protocol,
    '',
  )
})

test('finds tokens in Connection lists with odd spacing and case', () => {
  assert.ok(listHasToken('keep-alive, Upgrade', 'upgrade'))
  assert.ok(listHasToken('  UPGRADE\t', 'upgrade'))
  assert.ok(!listHasToken('upgrades', 'upgrade'))
  assert.ok(!listHasToken(',,', 'upgrade'))
  assert.ok(!listHasToken(undefined, 'upgrade'))
})

test('parses protocol lists strictly', () => {
  assert.deepEqual(parseProtocols('a, b ,c'), ['a', 'b', 'c'])
  for (const bad of ['', ' ', 'a,', ',a', 'a,,b', 'a, a', 'a;b', 'a b', 'é'])
    assert.equal(parseProtocols(bad), null, bad)
})

test('parses extension offers by the RFC 6455 §9.1 grammar', () => {
  assert.deepEqual(
    parseExtensions(
      'permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits="10"',
    ),
    [
      { name: 'permessage-deflate', params: [['client_max_window_bits', true]] },
      { name: 'permessage-deflate', params: [['server_max_window_bits', '10']] },
    ],
  )
  assert.deepEqual(parseExtensions('foo ; a = b'), [{ name: 'foo', params: [['a', 'b']] }])
  for (const bad of [
    '',
    ',',
    'a,',
    'a;',
    'a; =b',
    'a; b=',
    'a; b="',
    'a; b=""',
    'a; b="c d"',
    'a; b="\\c"',
    'a b',
    'a; b=c d',
  ]) {
    assert.equal(parseExtensions(bad), null, bad)
  }
})

test('parses hostile header lists in linear time', () => {
  const long = `${'a,'.repeat(50_000)}a`
  const ext = `x${'; p=v'.repeat(30_000)}`
  const t0 = performance.now()
  listHasToken(long, 'upgrade')
  parseProtocols(long)
  parseExtensions(ext)
  parseExtensions(`${'x;'.repeat(50_000)}`)
  assert.ok(performance.now() - t0 < 500, 'parsing 100 KB of header took too long')
})
