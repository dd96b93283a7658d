import { createHash } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { WsErrorCode } from '../errors/ws.ts'
import { WS_GUID } from './constants.ts'
import { type DeflateConfig, type DeflateParams, negotiateDeflate } from './deflate-params.ts'
import { type OriginPolicy, originAllowed } from './origin.ts'

/** RFC 7230 §3.2.6 tchar, as a lookup table (header lists are parsed in one linear pass). */
const TCHAR = new Uint8Array(128)
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TCHAR[c.charCodeAt(0)] = 1
}

function isTchar(code: number): boolean {
  return code < 128 && TCHAR[code] === 1
}

/** RFC 6455 §4.1 / §4.2.1 item 4: a base64 value that decodes to 16 bytes (no backtracking). */
const KEY = /^[A-Za-z0-9+/]{22}==$/

/** Whether a comma-separated header (`Connection`, `Upgrade`) names `token`, case-insensitively. */
export function listHasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false
  let start = 0
  const len = value.length
  while (start <= len) {
    let end = value.indexOf(',', start)
    if (end === -1) end = len
    let a = start
    let b = end
    while (a < b && (value.charCodeAt(a) === 0x20 || value.charCodeAt(a) === 0x09)) a++
    while (b > a && (value.charCodeAt(b - 1) === 0x20 || value.charCodeAt(b - 1) === 0x09)) b--
    if (b - a === token.length && value.slice(a, b).toLowerCase() === token) return true
    start = end + 1
  }
  return false
}

/**
 * Parses `Sec-WebSocket-Protocol` (RFC 6455 §4.1 / §11.3.4: 1#token). Returns null when the
 * header is empty or has an empty, duplicate or non-token element.
 */
export function parseProtocols(value: string): string[] | null {
  const out: string[] = []
  let start = 0
  const len = value.length
  for (;;) {
    let end = value.indexOf(',', start)
    if (end === -1) end = len
    let a = start
    let b = end
    while (a < b && (value.charCodeAt(a) === 0x20 || value.charCodeAt(a) === 0x09)) a++
    while (b > a && (value.charCodeAt(b - 1) === 0x20 || value.charCodeAt(b - 1) === 0x09)) b--
    if (a === b) return null
    for (let i = a; i < b; i++) if (!isTchar(value.charCodeAt(i))) return null
    const p = value.slice(a, b)
    if (out.includes(p)) return null
    out.push(p)
    if (end === len) return out
    start = end + 1
  }
}

/** One offered extension: its name and parameters in order (`true` for a valueless one). */
export interface ExtensionOffer {
  readonly name: string
  readonly params: [string, string | true][]
}

/**
 * Parses `Sec-WebSocket-Extensions` by the RFC 6455 §9.1 grammar in one pass:
 * `1#( token *( ";" token [ "=" ( token | quoted-string ) ] ) )`. A quoted value must hold a
 * token once unquoted. Returns null when the header is malformed.
 */
export function parseExtensions(value: string): ExtensionOffer[] | null {
  const out: ExtensionOffer[] = []
  const len = value.length
  let i = 0
  const skipWs = () => {
    while (i < len && (value.charCodeAt(i) === 0x20 || value.charCodeAt(i) === 0x09)) i++
  }
  const token = (): string | null => {
    const start = i
    while (i < len && isTchar(value.charCodeAt(i))) i++
    return i === start ? null : value.slice(start, i)
  }
  for (;;) {
    skipWs()
    const name = token()
    if (name === null) return null
    const params: [string, string | true][] = []
    skipWs()
    while (i < len && value.charCodeAt(i) === 0x3b /* ; */) {
      i++
      skipWs()
      const p = token()
      if (p === null) return null
      skipWs()
      let v: string | true = true
      if (i < len && value.charCodeAt(i) === 0x3d /* = */) {
        i++
        skipWs()
        if (i < len && value.charCodeAt(i) === 0x22 /* " */) {
          i++
          const start = i
          while (i < len && value.charCodeAt(i) !== 0x22) {
            if (value.charCodeAt(i) === 0x5c /* \ */) return null // a token never needs escapes
            if (!isTchar(value.charCodeAt(i))) return null
            i++
          }
          if (i === len || i === start) return null
          v = value.slice(start, i)
          i++
        } else {
          const t = token()
          if (t === null) return null
          v = t
        }
        skipWs()
      }
      params.push([p.toLowerCase(), v])
    }
    out.push({ name: name.toLowerCase(), params })
    if (i === len) return out
    if (value.charCodeAt(i) !== 0x2c /* , */) return null
    i++
  }
}

/** What the handshake checks need from a route (its resolved options). */
export interface HandshakeRules {
  readonly subprotocols: readonly string[] | null
  /** Lower-cased allowed origins, a predicate, `'same-origin'`, or null for any origin. */
  readonly origins: OriginPolicy
  readonly compression: DeflateConfig | null
}

/** A refused handshake: the error code (its status is in the table) and headers to add. */
export interface HandshakeRefusal {
  readonly error: WsErrorCode
  readonly headers?: Record<string, string>
}

/** An accepted handshake. */
export interface HandshakeAccept {
  readonly error?: undefined
  readonly key: string
  readonly protocol: string
  readonly deflate: DeflateParams | null
}

const VERSION_HEADERS = { 'Sec-WebSocket-Version': '13' }

/**
 * Checks a client handshake exactly per RFC 6455 §4.2.1, in this order: method (405), HTTP
 * version (400), Host (400), Upgrade/Connection (400, or 426 for a plain request when `plain`),
 * Sec-WebSocket-Version (400 missing, 426 not 13), Sec-WebSocket-Key (400), Origin (403),
 * Sec-WebSocket-Protocol (400), Sec-WebSocket-Extensions (400). Headers Node dropped (over its
 * count limit) are simply missing here, which refuses the handshake instead of crashing.
 *
 * @example
 * const r = checkHandshake(req, rules, false)
 * if (r.error) reject(socket, r.error)
 */
export function checkHandshake(
  req: IncomingMessage,
  rules: HandshakeRules,
  plain: boolean,
): HandshakeAccept | HandshakeRefusal {
  const h = req.headers
  // RFC 6455 §4.1 item 2: "The method of the request MUST be GET".
  if (req.method !== 'GET')
    return { error: 'SWB_ERR_WS_METHOD_NOT_ALLOWED', headers: { Allow: 'GET' } }
  // RFC 6455 §4.1 item 2: "the HTTP version MUST be at least 1.1".
  if (req.httpVersionMajor < 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor < 1)) {
    return { error: 'SWB_ERR_WS_HTTP_VERSION' }
  }
  // RFC 6455 §4.2.1 item 2 (and RFC 7230 §5.4: exactly one Host).
  if (!h.host || countHeader(req.rawHeaders, 'host') !== 1)
    return { error: 'SWB_ERR_WS_MISSING_HOST' }
  // RFC 6455 §4.2.1 items 3 and 4.
  if (!listHasToken(h.upgrade, 'websocket') || !listHasToken(h.connection, 'upgrade')) {
    if (plain && h.upgrade === undefined) {
      return {
        error: 'SWB_ERR_WS_UPGRADE_REQUIRED',
        headers: { Upgrade: 'websocket', ...VERSION_HEADERS },
      }
    }
    return { error: 'SWB_ERR_WS_INVALID_UPGRADE' }
  }
  // RFC 6455 §4.2.1 item 6 and §4.4: version 13 only; any other value (a number or not) gets 426
  // and the version we speak; a missing header is a malformed handshake (400).
  const version = h['sec-websocket-version']
  if (version === undefined)
    return { error: 'SWB_ERR_WS_INVALID_VERSION', headers: VERSION_HEADERS }
  if (version !== '13') return { error: 'SWB_ERR_WS_UNSUPPORTED_VERSION', headers: VERSION_HEADERS }
  // RFC 6455 §4.2.1 item 5: a base64-encoded 16-byte nonce (a repeated header is joined and fails).
  const key = h['sec-websocket-key']
  if (key === undefined || !KEY.test(key)) return { error: 'SWB_ERR_WS_INVALID_KEY' }
  // RFC 6455 §4.2.2 item 4 / §10.2: the server may refuse origins it does not accept.
  // Browsers send cookies with an upgrade from any site (cross-site WebSocket hijacking), so the
  // default is same-origin; a missing Origin is a non-browser client (see ./origin.ts).
  if (!originAllowed(rules.origins, h.origin, h.host))
    return { error: 'SWB_ERR_WS_ORIGIN_FORBIDDEN' }
  // RFC 6455 §4.2.2 item 5 (subprotocol): answer only with a protocol the client offered.
  let protocol = ''
  const offered = h['sec-websocket-protocol']
  if (offered !== undefined) {
    const list = parseProtocols(offered)
    if (list === null) return { error: 'SWB_ERR_WS_INVALID_PROTOCOL_HEADER' }
    const supported = rules.subprotocols
    if (supported !== null) {
      for (const p of list) {
        if (supported.includes(p)) {
          protocol = p
          break
        }
      }
    }
  }
  // RFC 6455 §9.1 grammar, then RFC 7692 §5 / §7 negotiation.
  let deflate: DeflateParams | null = null
  const ext = h['sec-websocket-extensions']
  if (ext !== undefined) {
    const offers = parseExtensions(ext)
    if (offers === null) return { error: 'SWB_ERR_WS_INVALID_EXTENSIONS_HEADER' }
    if (rules.compression !== null) deflate = negotiateDeflate(offers, rules.compression)
  }
  return { key, protocol, deflate }
}

/** RFC 6455 §4.2.2 item 5.4: base64(SHA-1(key + GUID)). */
export function acceptKey(key: string): string {
  return createHash('sha1')
    .update(key + WS_GUID)
    .digest('base64')
}

function countHeader(raw: string[], name: string): number {
  let n = 0
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!
    if (k.length === name.length && k.toLowerCase() === name) n++
  }
  return n
}
