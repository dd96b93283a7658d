import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  probeStream,
  readRefusal,
  refusalKind,
  refusedChannels,
  type StreamRefusal,
} from './stream-refusal.ts'
import type { FetchLike } from './transport-sse.ts'

const coded = (code: string, message: string) => JSON.stringify({ error: { code, message } })

function refusal(message: string, channels: string[]): StreamRefusal {
  return { status: 403, code: 'SWB_ERR_CHANNEL_FORBIDDEN', message, channels }
}

describe('reading a refusal', () => {
  test('reads the code and message of a coded error body', () => {
    const r = readRefusal(403, coded('SWB_ERR_CHANNEL_FORBIDDEN', 'No'), ['vip:x'])
    assert.deepEqual(r, {
      status: 403,
      code: 'SWB_ERR_CHANNEL_FORBIDDEN',
      message: 'No',
      channels: ['vip:x'],
    })
  })

  test('reads the channel the server names in details', () => {
    const body = JSON.stringify({
      error: { code: 'SWB_ERR_CHANNEL_FORBIDDEN', message: 'No', details: { channel: 'vip:x' } },
    })
    assert.equal(readRefusal(403, body, ['chat:a', 'vip:x'])?.channel, 'vip:x')
    assert.equal(readRefusal(403, coded('SWB_ERR_CHANNEL_FORBIDDEN', 'No'), [])?.channel, undefined)
  })

  test('a proxy page, an empty body or a foreign code is no refusal', () => {
    assert.equal(readRefusal(404, '<html>Not Found</html>', []), null)
    assert.equal(readRefusal(400, '', []), null)
    assert.equal(readRefusal(403, 'null', []), null)
    assert.equal(readRefusal(403, coded('EACCES', 'nope'), []), null)
    assert.equal(readRefusal(403, '{"error":"forbidden"}', []), null)
  })

  test('statuses map to what the client does', () => {
    assert.equal(refusalKind(401), 'auth')
    for (const s of [400, 403, 404]) assert.equal(refusalKind(s), 'channel')
    for (const s of [200, 408, 409, 429, 500, 502, 503]) assert.equal(refusalKind(s), null)
  })
})

describe('attributing a refusal to channels', () => {
  test('the channel in details is at fault, whatever the message says', () => {
    const r = { ...refusal('Not allowed: channel "a"', ['a', 'b']), channel: 'b' }
    assert.deepEqual(refusedChannels(r), ['b'])
    // a channel this stream did not ask for is no attribution: the message decides
    assert.deepEqual(refusedChannels({ ...r, channel: 'zzz' }), ['a'])
  })

  test('the one channel named in the message is at fault', () => {
    const r = refusal('Not allowed on this channel: channel "vip:x"', ['chat:a', 'vip:x'])
    assert.deepEqual(refusedChannels(r), ['vip:x'])
  })

  test('a name that is a prefix of another is matched whole, by its quotes', () => {
    const r = refusal('Not allowed: channel "a:bc"', ['a:b', 'a:bc'])
    assert.deepEqual(refusedChannels(r), ['a:bc'])
  })

  test('a message naming no channel, or two, puts every channel of the stream at fault', () => {
    assert.deepEqual(
      refusedChannels(refusal('A stream needs 1 to 16 channel parameters', ['a', 'b'])),
      ['a', 'b'],
    )
    assert.deepEqual(refusedChannels(refusal('"a" and "b"', ['a', 'b'])), ['a', 'b'])
  })
})

describe('probing the stream URL', () => {
  test('sends one GET asking for an event stream and returns the coded refusal', async () => {
    const calls: Array<Parameters<FetchLike>> = []
    const fetchFn: FetchLike = async (url, init) => {
      calls.push([url, init])
      return { ok: false, status: 404, text: async () => coded('SWB_ERR_X', 'gone') }
    }
    const r = await probeStream(fetchFn, 'http://x/sb?channel=a', ['a'], {
      timeout: 1000,
      withCredentials: true,
      abort: new AbortController(),
    })
    assert.deepEqual(r, { status: 404, code: 'SWB_ERR_X', message: 'gone', channels: ['a'] })
    assert.equal(calls.length, 1)
    assert.equal(calls[0]?.[0], 'http://x/sb?channel=a')
    assert.equal(calls[0]?.[1].method, 'GET')
    assert.equal(calls[0]?.[1].headers.accept, 'text/event-stream')
    assert.equal(calls[0]?.[1].credentials, 'include')
    assert.equal(calls[0]?.[1].body, undefined)
  })

  test('a 200 answer is aborted at once and is no refusal', async () => {
    const abort = new AbortController()
    let read = false
    const fetchFn: FetchLike = async () => ({
      ok: true,
      status: 200,
      text: async () => {
        read = true
        return ''
      },
    })
    const r = await probeStream(fetchFn, 'http://x/sb', ['a'], { timeout: 1000, abort })
    assert.equal(r, null)
    assert.equal(abort.signal.aborted, true)
    assert.equal(read, false, 'the stream body is not read')
  })

  test('a network error is no refusal', async () => {
    const fetchFn: FetchLike = () => Promise.reject(new TypeError('fetch failed'))
    assert.equal(await probeStream(fetchFn, 'http://x/sb', [], { timeout: 1000 }), null)
  })

  test('an answer that never comes is given up after the timeout, and the request aborted', async () => {
    const abort = new AbortController()
    const fetchFn: FetchLike = () => new Promise(() => {})
    const started = Date.now()
    const r = await probeStream(fetchFn, 'http://x/sb', [], { timeout: 30, abort })
    assert.equal(r, null)
    assert.ok(Date.now() - started < 1000)
    assert.equal(abort.signal.aborted, true)
  })
})
