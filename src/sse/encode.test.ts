import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import fc from 'fast-check'
import { SwitchboardError } from '../errors/index.ts'
import {
  encodeComment,
  encodeEvent,
  encodePadding,
  isPreparedEvent,
  prepareEvent,
  type SseEvent,
} from './encode.ts'

/** Parses wire bytes (as a client would: UTF-8, fed in arbitrary pieces) into events. */
function parse(
  bytes: Buffer,
  cuts: number[] = [],
): { events: EventSourceMessage[]; retries: number[]; comments: string[] } {
  const events: EventSourceMessage[] = []
  const retries: number[] = []
  const comments: string[] = []
  const parser = createParser({
    onEvent: (e) => events.push(e),
    onRetry: (r) => retries.push(r),
    onComment: (c) => comments.push(c),
    onError: (e) => {
      throw e
    },
  })
  const decoder = new TextDecoder()
  let at = 0
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    parser.feed(decoder.decode(bytes.subarray(at, cut), { stream: true }))
    at = cut
  }
  parser.feed(decoder.decode(bytes.subarray(at)))
  return { events, retries, comments }
}

/** What a UTF-8 client gets back for a string: lone surrogates become U+FFFD. */
const wellFormed = (s: string) => Buffer.from(s).toString()
const asReceived = (data: string) => wellFormed(data.replace(/\r\n|\r/g, '\n'))

const lineBreaky = fc.string({
  unit: fc.constantFrom('\r', '\n', '\r\n', 'a', ' ', ':', 'data:', 'id: 1', 'é', '😀', '\0'),
})
const anyText = fc.oneof(fc.string({ unit: 'binary' }), lineBreaky)
const noBreaks = (s: string) => !/[\r\n]/.test(s)
const eventName = fc.oneof(fc.string({ unit: 'binary' }), lineBreaky).filter(noBreaks)
const eventId = eventName.filter((s) => !s.includes('\0'))

test('an arbitrary event round-trips through eventsource-parser exactly', () => {
  fc.assert(
    fc.property(
      anyText,
      fc.option(eventName, { nil: undefined }),
      fc.option(eventId, { nil: undefined }),
      fc.option(fc.nat(), { nil: undefined }),
      fc.array(fc.nat({ max: 400 }), { maxLength: 4 }),
      (data, event, id, retry, cuts) => {
        const wire = prepareEvent({ data, event, id, retry }).bytes
        const { events, retries } = parse(wire, cuts)
        assert.equal(events.length, 1)
        // The format has one line terminator for data: CRLF and CR arrive as LF (HTML §9.2.6).
        // A client decodes UTF-8, so a lone surrogate arrives as U+FFFD; nothing else changes.
        assert.equal(events[0]!.data, asReceived(data))
        assert.equal(
          events[0]!.event,
          event === '' ? undefined : event === undefined ? undefined : wellFormed(event),
        )
        assert.equal(events[0]!.id, id === undefined ? undefined : wellFormed(id))
        assert.deepEqual(retries, retry === undefined ? [] : [retry])
      },
    ),
    { numRuns: 500 },
  )
})

test('a sequence of events parses back as the same sequence, in order', () => {
  const ev = fc.record(
    { data: anyText, event: eventName, id: eventId },
    { requiredKeys: ['data'] },
  ) as fc.Arbitrary<SseEvent & { data: string }>
  fc.assert(
    fc.property(fc.array(ev, { maxLength: 8 }), (list) => {
      const wire = Buffer.concat(list.map((e) => prepareEvent(e).bytes))
      const { events } = parse(wire)
      assert.deepEqual(
        events.map((e) => e.data),
        list.map((e) => asReceived(e.data)),
      )
    }),
    { numRuns: 200 },
  )
})

test('injection through the event name is refused with SWB_ERR_SSE_INVALID_EVENT', () => {
  fc.assert(
    fc.property(anyText, fc.constantFrom('\r', '\n', '\r\n'), anyText, (a, brk, b) => {
      assert.throws(
        () => encodeEvent({ event: `${a}${brk}${b}`, data: 'x' }),
        (e: unknown) => e instanceof SwitchboardError && e.code === 'SWB_ERR_SSE_INVALID_EVENT',
      )
    }),
  )
  assert.throws(() => encodeEvent({ event: 'x\ndata: evil', data: 'ok' }), {
    code: 'SWB_ERR_SSE_INVALID_EVENT',
  })
})

test('injection through the id (CR, LF or NUL) is refused with SWB_ERR_SSE_INVALID_ID', () => {
  fc.assert(
    fc.property(anyText, fc.constantFrom('\r', '\n', '\r\n', '\0'), anyText, (a, bad, b) => {
      assert.throws(
        () => prepareEvent({ id: `${a}${bad}${b}`, data: 'x' }),
        (e: unknown) => e instanceof SwitchboardError && e.code === 'SWB_ERR_SSE_INVALID_ID',
      )
    }),
  )
})

test('a retry that is not a non-negative integer is refused with SWB_ERR_SSE_INVALID_RETRY', () => {
  for (const retry of [-1, 1.5, Number.NaN, Infinity, '12a', ' 5', '5\n', '', '1e3', '-3']) {
    assert.throws(() => encodeEvent({ retry, data: 'x' }), { code: 'SWB_ERR_SSE_INVALID_RETRY' })
  }
  fc.assert(
    fc.property(
      fc.string().filter((s) => !/^[0-9]{1,15}$/.test(s)),
      (retry) => {
        assert.throws(() => encodeEvent({ retry }), { code: 'SWB_ERR_SSE_INVALID_RETRY' })
      },
    ),
  )
  assert.equal(encodeEvent({ retry: '2500' }), 'retry: 2500\n\n')
})

test('data splits on CRLF, CR and LF into one data line each', () => {
  assert.equal(encodeEvent({ data: 'a\r\nb\rc\nd' }), 'data: a\ndata: b\ndata: c\ndata: d\n\n')
  assert.equal(encodeEvent({ data: '\n' }), 'data: \ndata: \n\n')
  assert.equal(encodeEvent({ data: '  lead' }), 'data:   lead\n\n')
})

test('values that are not strings are sent as JSON on one line', () => {
  assert.equal(encodeEvent({ data: { a: 'x\ny' } }), 'data: {"a":"x\\ny"}\n\n')
  assert.equal(encodeEvent({ data: 42 }), 'data: 42\n\n')
  assert.equal(encodeEvent({ data: null }), 'data: null\n\n')
  assert.equal(encodeEvent({ data: new TextEncoder().encode('é\nz') }), 'data: é\ndata: z\n\n')
})

test('data that cannot be serialised is refused with SWB_ERR_SSE_INVALID_DATA', () => {
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  for (const data of [cyclic, 10n, () => 1, Symbol('s'), new Uint8Array([0xff, 0xfe])]) {
    assert.throws(() => encodeEvent({ data }), { code: 'SWB_ERR_SSE_INVALID_DATA' })
  }
})

test('comments split lines so they cannot end early, and padding has the exact size', () => {
  assert.equal(encodeComment(), ':\n')
  assert.equal(encodeComment('a\r\ndata: x'), ': a\n: data: x\n')
  const { events, comments } = parse(Buffer.from(`${encodeComment('x\ndata: evil\n')}\n`))
  assert.deepEqual(events, [])
  assert.deepEqual(comments, ['x', 'data: evil', ''])
  assert.equal(Buffer.byteLength(encodePadding(2048)), 2048)
  assert.equal(parse(Buffer.from(encodePadding(100))).events.length, 0)
})

test('a prepared event is recognised and its bytes are encoded once', () => {
  const p = prepareEvent({ event: 'tick', data: 'x' })
  assert.ok(isPreparedEvent(p))
  assert.ok(!isPreparedEvent({ bytes: p.bytes }))
  assert.ok(Object.isFrozen(p))
  assert.equal(p.bytes.toString(), 'event: tick\ndata: x\n\n')
})
