import assert from 'node:assert/strict'
import { test } from 'node:test'
import { encodeSseId } from '../protocol/index.ts'
import { SseTransport } from './sse-transport.ts'
import { type Frame, sseFormat } from './transport.ts'

function sink() {
  const out = { text: '' }
  return {
    out,
    sink: {
      write(t: string) {
        out.text += t
        return true
      },
      close() {},
    },
  }
}

const pub = (channel: string, offset: number): Frame =>
  sseFormat.prepare({ type: 'publication', channel, epoch: 'e1', offset, data: { n: offset } })

/** What the per-stream path writes: each position frame's id holds every channel's cursor. */
function expected(frames: Frame[], urlChannels: string[]): string {
  const cursors = new Map<string, { channel: string; offset: number; epoch: string }>()
  let out = ''
  for (const f of frames) {
    if (f.channel !== undefined) {
      cursors.set(f.channel, { channel: f.channel, offset: f.offset!, epoch: f.epoch! })
      out += `id: ${encodeSseId(cursors.values(), urlChannels)}\n`
    }
    out += `${f.data as string}\n`
  }
  return out
}

test('single-channel streams given the same frames write the same text as the per-stream path', () => {
  const frames = [pub('a', 1), pub('a', 2), pub('a', 3)]
  const one = sink()
  const two = sink()
  const t1 = new SseTransport(one.sink, ['a'])
  const t2 = new SseTransport(two.sink, ['a'])
  t1.write(frames)
  t2.write([...frames])
  assert.equal(one.out.text, expected(frames, ['a']))
  assert.equal(two.out.text, one.out.text)
  assert.deepEqual(t2.cursors, [{ channel: 'a', offset: 3, epoch: 'e1' }])
})

test('a stream naming the channel by another index or by name gets its own id lines', () => {
  const frames = [pub('a', 7), pub('a', 8)]
  const byZero = sink()
  const byOne = sink()
  const byName = sink()
  new SseTransport(byZero.sink, ['a']).write(frames)
  new SseTransport(byOne.sink, ['b', 'a']).write(frames)
  new SseTransport(byName.sink, []).write(frames)
  assert.equal(byZero.out.text, expected(frames, ['a']))
  assert.equal(byOne.out.text, expected(frames, ['b', 'a']))
  assert.equal(byName.out.text, expected(frames, []))
  assert.match(byOne.out.text, /^id: 1,1\.7\.e1\n/)
  assert.match(byName.out.text, /^id: 1,~a\.7\.e1\n/)
})

test('a stream that already tracks another channel keeps every cursor in its ids', () => {
  const s = sink()
  const t = new SseTransport(s.sink, ['a', 'b'])
  t.write([pub('b', 4)])
  s.out.text = ''
  const frames = [pub('a', 1), pub('a', 2)]
  t.write(frames)
  assert.equal(
    s.out.text,
    'id: 1,1.4.e1,0.1.e1\n' +
      `${frames[0]!.data}\n` +
      'id: 1,1.4.e1,0.2.e1\n' +
      `${frames[1]!.data}\n`,
  )
})

test('a sink that can flush is flushed right after each batch, in order', () => {
  const calls: string[] = []
  const t = new SseTransport(
    {
      write(text: string) {
        calls.push(`write ${text.length}`)
        return true
      },
      flush() {
        calls.push('flush')
      },
      close() {},
    },
    ['a'],
  )
  t.write([pub('a', 1)])
  t.write([pub('a', 2), pub('b', 1)])
  assert.deepEqual(
    calls.map((c) => c.split(' ')[0]),
    ['write', 'flush', 'write', 'flush'],
  )
})

test('streams whose sinks take bytes share one Buffer encoded once, with the same UTF-8 text', () => {
  const frames = [
    sseFormat.prepare({
      type: 'publication',
      channel: 'a',
      epoch: 'e1',
      offset: 1,
      data: { text: 'héllo ✓ 𝄞' },
    }),
    pub('a', 2),
  ]
  const got: Uint8Array[] = []
  const bytesSink = {
    write(): boolean {
      throw new Error('the shared batch must go through writeBytes')
    },
    writeBytes(b: Uint8Array) {
      got.push(b)
      return true
    },
    close() {},
  }
  const text = sink()
  new SseTransport(text.sink, ['a']).write(frames)
  for (let i = 0; i < 3; i++) new SseTransport(bytesSink, ['a']).write([...frames])
  assert.equal(got.length, 3)
  assert.ok(got[1] === got[0] && got[2] === got[0], 'one Buffer for every stream')
  assert.equal(Buffer.from(got[0]!).toString('utf8'), text.out.text)
  assert.equal(text.out.text, expected(frames, ['a']))
  // a new batch is encoded again
  new SseTransport(bytesSink, ['a']).write([pub('a', 3)])
  assert.notEqual(got[3], got[0])
  assert.equal(Buffer.from(got[3]!).toString('utf8'), expected([pub('a', 3)], ['a']))
})
