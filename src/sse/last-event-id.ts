// Resume: the id a reconnecting client sends (HTML §9.2, the `Last-Event-ID` header), read
// strictly so an id we could never have written is refused before the handler runs.
import type { IncomingMessage } from 'node:http'
import { createError } from '../errors/index.ts'

const utf8 = new TextDecoder('utf-8', { fatal: true })
const ASCII = /^[\x00-\x7f]*$/

/**
 * The id a reconnecting client resumes from: the `Last-Event-ID` header (sent by EventSource
 * on reconnect), else the `lastEventId` query parameter (first connect, polyfills). Parsed
 * strictly: one occurrence only, no CR/LF/NUL (an id we could never have sent), at most
 * `maxLength` bytes; header bytes are read as UTF-8 when they are valid UTF-8, else as
 * Latin-1. Returns `undefined` when absent or empty.
 *
 * @example
 * readLastEventId(req) // '42' for `Last-Event-ID: 42`
 */
export function readLastEventId(
  req: IncomingMessage,
  query?: string | URLSearchParams,
  maxLength = 256,
): string | undefined {
  let header: string | undefined
  const raw = req.rawHeaders
  if (Array.isArray(raw)) {
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!
      if (name.length !== 13 || name.toLowerCase() !== 'last-event-id') continue
      if (header !== undefined) badLastEventId('Last-Event-ID is repeated')
      header = raw[i + 1] ?? ''
    }
  } else {
    const h = req.headers['last-event-id']
    header = Array.isArray(h) ? badLastEventId('Last-Event-ID is repeated') : h
  }
  if (header !== undefined && header !== '') {
    if (header.length > maxLength) badLastEventId('Last-Event-ID is too long')
    // Node hands header bytes over as latin1. Browsers send the id as UTF-8 (HTML §9.2.4), while
    // fetch-based clients (the `eventsource` package) send U+0080-U+00FF as single Latin-1
    // bytes. Valid UTF-8 is read as UTF-8; anything else is kept as the Latin-1 it already is.
    let id = header
    if (!ASCII.test(header)) {
      try {
        id = utf8.decode(Buffer.from(header, 'latin1'))
      } catch {}
    }
    return checkLastEventId(id, maxLength)
  }
  let params: URLSearchParams
  if (query instanceof URLSearchParams) params = query
  else {
    let raw = query
    if (raw === undefined) {
      const url = req.url ?? ''
      const q = url.indexOf('?')
      raw = q === -1 ? '' : url.slice(q + 1)
    }
    if (raw.indexOf('lastEventId') === -1) return undefined
    params = new URLSearchParams(raw)
  }
  const all = params.getAll('lastEventId')
  if (all.length === 0) return undefined
  if (all.length > 1) badLastEventId('lastEventId is repeated')
  const id = all[0]!
  if (id === '') return undefined
  if (Buffer.byteLength(id) > maxLength) badLastEventId('lastEventId is too long')
  return checkLastEventId(id, maxLength)
}

function checkLastEventId(id: string, maxLength: number): string {
  if (Buffer.byteLength(id) > maxLength) badLastEventId('Last-Event-ID is too long')
  if (id.indexOf('\0') !== -1 || id.indexOf('\r') !== -1 || id.indexOf('\n') !== -1) {
    badLastEventId('Last-Event-ID holds CR, LF or NUL')
  }
  return id
}

function badLastEventId(message: string): never {
  throw createError('SWB_ERR_SSE_INVALID_LAST_EVENT_ID', message)
}
