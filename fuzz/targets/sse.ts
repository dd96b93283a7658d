/**
 * Target `sse`: the SSE event encoder (`src/sse/encode.ts`), the stream cursor id
 * (`encodeSseId`/`parseSseId`, `src/protocol/sse-id.ts`, read by `src/hub/stream-admission.ts`)
 * and the `Last-Event-ID` reader (`src/sse/last-event-id.ts`).
 *
 * Oracles:
 * - encoder: an event either encodes, and `eventsource-parser` (in any split) reads back exactly
 *   its data (line breaks normalised to LF), type, id and retry, or it is refused with a coded
 *   `SWB_ERR_SSE_INVALID_*` error, and only for a value that would break the stream;
 * - cursors, round trip: positions -> `encodeSseId` -> an `id:` field -> `eventsource-parser` ->
 *   the bytes a browser sends back -> `readLastEventId` -> `parseSseId` give the same positions;
 * - any `Last-Event-ID` (repeated, any bytes) and query: `readLastEventId` returns an id without
 *   CR/LF/NUL within `maxLength` UTF-8 bytes, or throws 400 `SWB_ERR_SSE_INVALID_LAST_EVENT_ID`;
 *   `parseSseId` returns null or positions that re-encode to an id it parses the same.
 */
import type { IncomingMessage } from 'node:http'
import { isDeepStrictEqual } from 'node:util'
import { createParser } from 'eventsource-parser'
import { SwitchboardError } from '../../src/errors/index.ts'
import { type ChannelCursor, encodeSseId, parseSseId } from '../../src/protocol/sse-id.ts'
import { encodeEvent, type SseEvent } from '../../src/sse/encode.ts'
import { readLastEventId } from '../../src/sse/last-event-id.ts'
import { FuzzInput, fail, prng, splitChunks } from '../lib/input.ts'

export const name = 'sse'

const URL_CHANNELS = [['chat:a'], ['chat:a', 'news', 'x.y.z'], [], ['~t', '0', 'é']]
const EPOCHS = ['k3j9a', 'e1', 'A-_z', 'x'.repeat(64)]

function text(input: FuzzInput, n: number): string {
  const bytes = input.bytes(n)
  return input.bool() ? bytes.toString('latin1') : bytes.toString('utf8')
}

/** Reads everything eventsource-parser makes of `wire`, fed in chunks. */
export function parse(wire: string, seed: number) {
  const events: { data: string; event?: string | undefined; id?: string | undefined }[] = []
  const retries: number[] = []
  const parser = createParser({
    onEvent: (e) => events.push({ data: e.data, event: e.event, id: e.id }),
    onRetry: (r) => retries.push(r),
  })
  const rand = prng(seed)
  for (let i = 0; i < wire.length; ) {
    const n = seed & 1 ? wire.length : 1 + Math.floor(rand() * 16)
    parser.feed(wire.slice(i, i + n))
    i += n
  }
  return { events, retries }
}

function encoderCase(input: FuzzInput): void {
  const ev: SseEvent = {}
  const f = input.u8()
  if (f & 1) ev.data = text(input, input.u8())
  if (f & 2) ev.event = text(input, input.u8() % 24)
  if (f & 4) ev.id = f & 8 ? input.u16() : text(input, input.u8() % 24)
  if (f & 16) ev.retry = f & 32 ? input.u16() : text(input, 6)
  const seed = input.u16()
  let wire: string
  try {
    wire = encodeEvent(ev)
  } catch (err) {
    const code = err instanceof SwitchboardError ? err.code : String(err)
    const bad = (s: unknown, re: RegExp) => typeof s === 'string' && re.test(s)
    const refusable =
      (code === 'SWB_ERR_SSE_INVALID_EVENT' && bad(ev.event, /[\r\n]/)) ||
      (code === 'SWB_ERR_SSE_INVALID_ID' && bad(ev.id, /[\r\n\0]/)) ||
      (code === 'SWB_ERR_SSE_INVALID_RETRY' && !/^[0-9]{1,15}$/.test(String(ev.retry)))
    if (!refusable) fail(name, 'encodeEvent refused a value it can encode', { ev, code })
    return
  }
  const { events, retries } = parse(wire, seed)
  if (ev.retry !== undefined && retries.at(-1) !== Number(ev.retry)) {
    fail(name, 'retry did not survive', { ev, retries })
  }
  if (ev.data === undefined) {
    if (events.length !== 0) fail(name, 'an event without data was dispatched', { ev, events })
    return
  }
  const expected = {
    data: String(ev.data)
      .split(/\r\n|\r|\n/)
      .join('\n'),
    event: ev.event === undefined || ev.event === '' ? undefined : ev.event,
    id: ev.id === undefined ? undefined : String(ev.id),
  }
  const got = events.map((e) => ({ ...e, event: e.event === '' ? undefined : e.event }))
  if (got.length !== 1 || !isDeepStrictEqual(got[0], expected)) {
    fail(name, 'eventsource-parser read something else', { ev, wire, got, expected })
  }
}

export function request(rawHeaders: string[], url: string): IncomingMessage {
  const headers: Record<string, string | string[]> = {}
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const k = rawHeaders[i]!.toLowerCase()
    headers[k] =
      headers[k] === undefined ? rawHeaders[i + 1]! : `${headers[k]}, ${rawHeaders[i + 1]}`
  }
  return { rawHeaders, headers, url } as unknown as IncomingMessage
}

/** What a browser sends back for an id it read: its UTF-8 bytes, which Node reads as latin1. */
export function asHeader(id: string): string {
  return Buffer.from(id, 'utf8').toString('latin1')
}

function cursorCase(input: FuzzInput): void {
  const urlChannels = input.pick(URL_CHANNELS)
  const cursors: ChannelCursor[] = []
  const n = input.u8() % 6
  for (let i = 0; i < n; i++) {
    const f = input.u8()
    const channel =
      f & 1 && urlChannels.length > 0
        ? urlChannels[f % urlChannels.length]!
        : text(input, 1 + (f % 12)).replace(/[,\r\n\0]/g, '_') || 'c'
    if (cursors.some((c) => c.channel === channel)) continue
    const offset = f & 2 ? input.u16() * 65536 * 65536 + input.u16() : input.u8()
    cursors.push({ channel, offset, epoch: input.pick(EPOCHS) })
  }
  const id = encodeSseId(cursors, urlChannels)
  const { events } = parse(encodeEvent({ id, data: 'x' }), input.u16())
  const read = events[0]?.id
  if (read !== id) fail(name, 'eventsource-parser read another id', { id, read })
  const maxLength = 8192
  let back: string | undefined
  try {
    back = readLastEventId(request(['Last-Event-ID', asHeader(read)], '/'), undefined, maxLength)
  } catch (err) {
    if (Buffer.byteLength(id) > maxLength) return
    fail(name, 'readLastEventId refused an id we wrote', { id, err: String(err) })
  }
  const parsed = parseSseId(back ?? '', urlChannels)
  const expected = new Map(cursors.map((c) => [c.channel, { offset: c.offset, epoch: c.epoch }]))
  if (!isDeepStrictEqual(parsed, expected)) {
    fail(name, 'cursor round trip lost positions', { id, back, parsed: [...(parsed ?? [])] })
  }
}

function headerCase(input: FuzzInput): void {
  const raw: string[] = []
  const count = input.u8() % 3
  for (let i = 0; i < count; i++) {
    raw.push(input.pick(['Last-Event-ID', 'last-event-id', 'Last-Event-Id', 'X-Other']))
    raw.push(input.bytes(input.u8() % 40).toString('latin1'))
  }
  const query = input.bytes(input.u8() % 40).toString('latin1')
  const maxLength = input.pick([0, 8, 256, 8192])
  let id: string | undefined
  try {
    id = readLastEventId(request(raw, `/s?${query}`), undefined, maxLength)
  } catch (err) {
    if (!(err instanceof SwitchboardError) || err.code !== 'SWB_ERR_SSE_INVALID_LAST_EVENT_ID') {
      fail(name, 'readLastEventId threw something uncoded', String(err))
    }
    if (err.status !== 400) fail(name, 'a bad Last-Event-ID is not a 400', err.status)
    return
  }
  if (id === undefined) return
  if (/[\r\n\0]/.test(id)) fail(name, 'an id with CR, LF or NUL was accepted', id)
  if (Buffer.byteLength(id) > maxLength) fail(name, 'an id over maxLength was accepted', id)
  const urlChannels = input.pick(URL_CHANNELS)
  const parsed = parseSseId(id, urlChannels)
  if (parsed === null) return
  for (const [channel, p] of parsed) {
    if (!Number.isSafeInteger(p.offset) || p.offset < 0) fail(name, 'bad offset parsed', p)
    if (!urlChannels.includes(channel) && (channel === '' || /[,\r\n\0]/.test(channel))) {
      fail(name, 'an impossible channel name parsed', channel)
    }
  }
  const cursors = [...parsed].map(([channel, p]) => ({ channel, ...p }))
  const again = parseSseId(encodeSseId(cursors, urlChannels), urlChannels)
  if (!isDeepStrictEqual(again, parsed)) fail(name, 'parse(encode(parse(id))) differs', { id })
}

export function fuzz(data: Buffer): void {
  const input = new FuzzInput(data)
  const mode = input.u8() % 3
  if (mode === 0) encoderCase(input)
  else if (mode === 1) cursorCase(input)
  else headerCase(input)
}

export function seeds(): Buffer[] {
  return [
    Buffer.from([
      0, 0x1f, 5, 0, 104, 101, 108, 108, 111, 0, 3, 0, 116, 105, 99, 0, 4, 55, 0, 1, 0, 0,
    ]),
    Buffer.from([1, 1, 3, 1, 0, 7, 0, 0, 0, 1, 0, 0, 1, 2]),
    Buffer.from([2, 1, 0, 9, 0x31, 0x2c, 0x30, 0x2e, 0x32, 0x73, 0x2e, 0x6b, 0x33, 0, 2, 1]),
    Buffer.concat([
      Buffer.from([2, 0, 20]),
      Buffer.from('lastEventId=1,~x.5.e1'),
      Buffer.from([3, 3]),
    ]),
    ...splitChunks(Buffer.from([1, 3, 2, 0xc3, 0xa9, 0, 1]), 0),
  ]
}
