// plainError from the showcase's shared page script (examples/showcase/public/ui.js): every code a
// page can meet becomes a sentence, and no raw code ever reaches the page.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ERRORS } from 'switchboard'
import { ClientErrorCode } from 'switchboard/client'

type Words = Record<string, string | ((m?: string) => string)>
const ui = (await import(
  String(new URL('../../examples/showcase/public/ui.js', import.meta.url))
)) as {
  plainError: (e: unknown, words?: Words) => string
  ERROR_WORDS: Words
}
const { plainError } = ui

test('every SWB_ERR code of the server table and the client becomes words without the code', () => {
  const codes = [...Object.keys(ERRORS), ...Object.values(ClientErrorCode)]
  for (const code of codes) {
    for (const input of [code, { code, message: 'x' }, { code }, `${code}: detail`]) {
      const words = plainError(input)
      assert.doesNotMatch(words, /_ERR_/, `${JSON.stringify(input)} → ${words}`)
      assert.match(words, /^[A-Z].*[.!?…]$/s, `${JSON.stringify(input)} → ${words}`)
    }
  }
})

test('a server detail written for people is kept: a schema issue, a refused sign-in', () => {
  assert.equal(
    plainError({ code: 'SWB_ERR_CHANNEL_SCHEMA', message: 'text must be 1 to 500 characters' }),
    'That was not accepted: Text must be 1 to 500 characters.',
  )
  assert.equal(
    plainError('SWB_ERR_AUTH_UNAUTHORIZED: pick a name of 1 to 24 letters'),
    'You are not signed in: Pick a name of 1 to 24 letters.',
  )
  assert.equal(
    plainError({ code: 'SWB_ERR_AUTH_UNAUTHORIZED', message: 'The credential was refused' }),
    'You are not signed in.',
  )
})

test("APP_ERR codes use the app's message, else the code in words; a page's own words win", () => {
  assert.equal(
    plainError({ code: 'APP_ERR_POLL_UNKNOWN_OPTION', message: 'this poll has no option "sushi"' }),
    'This poll has no option "sushi".',
  )
  assert.equal(plainError({ code: 'APP_ERR_POLL_FULL' }), 'Poll full.')
  assert.equal(plainError('APP_ERR_GAME_FULL'), 'Game full.')
  assert.equal(
    plainError(
      { code: 'APP_ERR_GAME_FULL', message: 'x' },
      { APP_ERR_GAME_FULL: 'The arena is full.' },
    ),
    'The arena is full.',
  )
  assert.equal(
    plainError({ code: 'SWB_ERR_CLIENT_TIMEOUT' }, { SWB_ERR_CLIENT_TIMEOUT: (m) => `slow ${m}` }),
    'slow undefined',
  )
})

test('errors without a code: a failed fetch reads as unreachable, anything else as a sentence', () => {
  assert.equal(
    plainError(new TypeError('Failed to fetch')),
    'The server could not be reached. Check your connection.',
  )
  assert.equal(plainError(new Error('boom')), 'Boom.')
  assert.equal(plainError(null), 'Something went wrong. Try again.')
  assert.equal(
    plainError({ code: 'SWB_ERR_SOMETHING_NEW', message: 'SWB_ERR_X' }),
    'Something went wrong. Try again.',
  )
})
