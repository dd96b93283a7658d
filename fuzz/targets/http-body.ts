/**
 * Target `http-body`: the request body readers of `Context` (`readBytes`, `readText`, `readJson`,
 * `readForm`) over `readBody` (`src/http/body.ts`), with any Content-Type, Content-Length
 * (right, wrong, missing, garbage), limit, chunking, and a client that goes away mid-body.
 *
 * Oracles:
 * - every refusal is a `SwitchboardError` with a table code and a 4xx status (no TypeError,
 *   no RangeError, nothing unhandled);
 * - the limit: a body over `bodyLimit` bytes is refused with 413 and nothing more than one chunk
 *   past the limit was buffered; a body within it is returned byte for byte;
 * - reference parsers: `readJson` equals `JSON.parse` of the `TextDecoder` text (or 400),
 *   urlencoded `readForm` equals `URLSearchParams`; a second read returns the cached result.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { isDeepStrictEqual } from 'node:util'
import { ERRORS, SwitchboardError } from '../../src/errors/index.ts'
import { Context } from '../../src/http/context.ts'
import { FuzzInput, fail, splitChunks } from '../lib/input.ts'

export const name = 'http-body'

const TYPES = [
  undefined,
  'application/json',
  'application/json; charset=utf-8',
  'application/merge-patch+json',
  'Application/JSON ; charset="UTF-8"',
  'application/json; charset=latin1',
  'application/json; charset=utf-16le',
  'application/json; charset=x-unknown',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=iso-8859-1',
  'multipart/form-data; boundary=XyZ',
  'multipart/form-data',
  'text/plain',
  '',
  ';',
]

/** A request whose body arrives in `chunks`, optionally cut off before the end. */
export function request(
  headers: Record<string, string>,
  chunks: Buffer[],
  abortAfter: number,
): IncomingMessage {
  let i = 0
  const req = new Readable({
    read() {
      setImmediate(() => {
        if (i === abortAfter) {
          req.destroy()
          return
        }
        if (i < chunks.length) req.push(chunks[i++])
        else {
          ;(req as unknown as { complete: boolean }).complete = true
          req.push(null)
        }
      })
    },
  }) as unknown as IncomingMessage & { complete: boolean }
  req.complete = false
  req.headers = headers
  req.rawHeaders = Object.entries(headers).flat()
  req.method = 'POST'
  req.url = '/'
  return req
}

export const host = {
  bodyLimit: 0,
  clientIp: () => '127.0.0.1',
  nextRequestId: () => '1',
}

function checkRefusal(err: unknown, allowed: readonly string[], what: string): string {
  if (!(err instanceof SwitchboardError)) {
    fail(name, `${what} threw something other than a SwitchboardError`, String(err))
  }
  if (!(err.code in ERRORS)) fail(name, `${what}: code not in the error table`, err.code)
  if (!(err.status >= 400 && err.status < 500)) fail(name, `${what}: status ${err.status}`)
  if (!allowed.includes(err.code)) fail(name, `${what}: unexpected ${err.code}`, allowed)
  return err.code
}

async function attempt<T>(p: () => Promise<T>): Promise<{ value: T } | { error: unknown }> {
  try {
    return { value: await p() }
  } catch (error) {
    return { error }
  }
}

export async function fuzz(data: Buffer): Promise<void> {
  const input = new FuzzInput(data)
  const type = input.pick(TYPES)
  const limit = input.pick([0, 1, 16, 100, 1000, 4096])
  const lengthMode = input.u8() % 5
  const reader = input.u8() % 5
  const seed = input.u16()
  const abort = input.u8()
  const body = input.rest()
  const headers: Record<string, string> = {}
  if (type !== undefined) headers['content-type'] = type
  if (lengthMode === 1) headers['content-length'] = String(body.length)
  if (lengthMode === 2) headers['content-length'] = String(Math.max(0, body.length - 3))
  if (lengthMode === 3) headers['content-length'] = String(body.length + 5000)
  if (lengthMode === 4) headers['content-length'] = 'abc'
  const chunks = splitChunks(body, seed)
  const abortAfter = abort % 7 === 0 ? abort % (chunks.length + 1) : -1
  const req = request(headers, chunks, abortAfter)
  host.bodyLimit = limit
  const ctx = new Context(host, req, {} as ServerResponse, '/', '')
  const declared = Number(headers['content-length'])
  const tooBig = body.length > limit || declared > limit
  const aborted = abortAfter >= 0 && !(declared > limit)

  // Bytes: the limit, and the exact body.
  if (reader === 0 || reader === 4) {
    const r = await attempt(() => ctx.readBytes())
    if ('value' in r) {
      if (tooBig || aborted) fail(name, 'a body over the limit or cut off was accepted', { limit })
      if (!r.value.equals(body)) fail(name, 'readBytes changed the body')
    } else {
      const code = checkRefusal(
        r.error,
        ['SWB_ERR_BODY_TOO_LARGE', 'SWB_ERR_BODY_ABORTED'],
        'readBytes',
      )
      if (code === 'SWB_ERR_BODY_TOO_LARGE' && !tooBig) fail(name, '413 for a body within limit')
      if (code === 'SWB_ERR_BODY_ABORTED' && !aborted) fail(name, 'aborted, but the body was whole')
    }
    const again = await attempt(() => ctx.readBytes())
    if ('value' in r !== 'value' in again) fail(name, 'a second readBytes disagrees with the first')
    if (reader === 0) return
  }
  const bodyCodes = [
    'SWB_ERR_BODY_TOO_LARGE',
    'SWB_ERR_BODY_ABORTED',
    'SWB_ERR_UNSUPPORTED_MEDIA_TYPE',
  ]
  if (reader === 1 || reader === 4) {
    const r = await attempt(() => ctx.readJson())
    const charset = /charset="?([^";\s]+)/i.exec(type ?? '')?.[1] ?? 'utf-8'
    const parse = () => JSON.parse(new TextDecoder(charset).decode(body))
    if ('error' in r) {
      const code = checkRefusal(r.error, [...bodyCodes, 'SWB_ERR_INVALID_JSON'], 'readJson')
      if (code === 'SWB_ERR_INVALID_JSON' && 'value' in (await attempt(async () => parse()))) {
        fail(name, 'readJson refused a body JSON.parse accepts')
      }
      return
    }
    if (tooBig || aborted) fail(name, 'readJson accepted a body over the limit or cut off')
    const expected = parse()
    if (!isDeepStrictEqual(r.value, expected)) fail(name, 'readJson differs from JSON.parse')
    return
  }
  if (reader === 2) {
    const r = await attempt(() => ctx.readForm())
    if ('error' in r) {
      checkRefusal(r.error, [...bodyCodes, 'SWB_ERR_INVALID_FORM'], 'readForm')
      return
    }
    if (tooBig || aborted) fail(name, 'readForm accepted a body over the limit or cut off')
    if (type?.startsWith('application/x-www-form-urlencoded')) {
      const charset = /charset=([^;\s]+)/i.exec(type)?.[1] ?? 'utf-8'
      const expected = [...new URLSearchParams(new TextDecoder(charset).decode(body))]
      const got = [...r.value.entries()].map(([k, v]) => [k, String(v)])
      if (!isDeepStrictEqual(got, expected)) fail(name, 'readForm differs from URLSearchParams')
    }
    return
  }
  const r = await attempt(() => ctx.readText())
  if ('error' in r) checkRefusal(r.error, bodyCodes, 'readText')
  else if (tooBig || aborted) fail(name, 'readText accepted a body over the limit or cut off')
}

export function seeds(): Buffer[] {
  const s = (cfg: number[], body: string) => Buffer.concat([Buffer.from(cfg), Buffer.from(body)])
  return [
    s([1, 4, 1, 1, 0, 0, 1], '{"a":[1,2,{"b":null}],"c":"\\u00e9"}'),
    s([8, 4, 0, 2, 0, 1, 1], 'a=1&b=%C3%A9&a=2&c'),
    s(
      [10, 4, 1, 2, 0, 2, 1],
      '--XyZ\r\nContent-Disposition: form-data; name="f"\r\n\r\nv\r\n--XyZ--\r\n',
    ),
    s([1, 2, 3, 0, 0, 3, 1], '{"big": "this body is over the limit"}'),
    s([3, 5, 2, 4, 1, 0, 0], '[true]'),
  ]
}
