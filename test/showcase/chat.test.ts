// The chat demo's hand-written schemas and its demo sign-in.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { chatMessage, demoAuth, typingSignal } from '../../examples/showcase/chat.ts'

const message = (v: unknown) =>
  chatMessage['~standard'].validate(v) as { value?: unknown; issues?: { message: string }[] }
const typing = (v: unknown) =>
  typingSignal['~standard'].validate(v) as { value?: unknown; issues?: { message: string }[] }

test('a message is trimmed text of 1 to 500 characters, with an optional nonce; anything else is dropped', () => {
  assert.deepEqual(message({ text: '  hi  ', extra: 1 }), { value: { text: 'hi' } })
  assert.deepEqual(message({ text: 'hi', nonce: 'k3x-9_Z' }), {
    value: { text: 'hi', nonce: 'k3x-9_Z' },
  })
  assert.deepEqual(message({ text: 'x'.repeat(500) }), { value: { text: 'x'.repeat(500) } })
})

test('a message with no text, blank or too long text, or a malformed nonce is refused', () => {
  for (const v of [null, 'hi', {}, { text: 7 }, { text: '   ' }, { text: 'x'.repeat(501) }]) {
    assert.ok(message(v).issues, JSON.stringify(v))
  }
  for (const nonce of ['', 'has space', 'x'.repeat(41), 5, '<script>']) {
    assert.match(message({ text: 'hi', nonce }).issues![0]!.message, /nonce/, String(nonce))
  }
})

test('a typing signal is { typing: boolean } and nothing else', () => {
  assert.deepEqual(typing({ typing: true, user: 'spoofed' }), { value: { typing: true } })
  assert.deepEqual(typing({ typing: false }), { value: { typing: false } })
  for (const v of [null, {}, { typing: 'yes' }, { typing: 1 }])
    assert.ok(typing(v).issues, JSON.stringify(v))
})

test('the demo sign-in takes a name of 1 to 24 letters, digits, spaces or _ . - and refuses others in plain words', async () => {
  assert.deepEqual(await demoAuth({ token: ' Ada Lovelace ', transport: 'ws-json' }), {
    user: 'Ada Lovelace',
    info: { name: 'Ada Lovelace' },
  })
  assert.deepEqual(await demoAuth({ token: 'Zoë_2.0', transport: 'sse' }), {
    user: 'Zoë_2.0',
    info: { name: 'Zoë_2.0' },
  })
  for (const token of [undefined, '', '   ', 'x'.repeat(25), '<b>', 'a/b']) {
    assert.throws(
      () => demoAuth({ ...(token === undefined ? null : { token }), transport: 'ws-json' }),
      {
        code: 'SWB_ERR_AUTH_UNAUTHORIZED',
        message: 'A name is 1 to 24 letters, digits, spaces or _ . -',
      },
    )
  }
})
