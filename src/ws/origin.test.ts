import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isSameOrigin, originAllowed, resolveOriginPolicy } from './origin.ts'

test('an origin is the same as the Host it was sent to, default ports and case aside', () => {
  assert.equal(isSameOrigin('https://app.example', 'app.example'), true)
  assert.equal(isSameOrigin('https://app.example', 'APP.example:443'), true)
  assert.equal(isSameOrigin('http://app.example', 'app.example:80'), true)
  assert.equal(isSameOrigin('http://[::1]:3000', '[::1]:3000'), true)
  assert.equal(isSameOrigin('http://app.example', 'app.example:443'), false)
  assert.equal(isSameOrigin('https://app.example.evil.example', 'app.example'), false)
  assert.equal(isSameOrigin('https://evil.example', 'app.example'), false)
  assert.equal(isSameOrigin('null', 'app.example'), false)
  assert.equal(isSameOrigin('not a url', 'app.example'), false)
  assert.equal(isSameOrigin('https://app.example', undefined), false)
})

test('the policy is same-origin by default, any only by name, and a list or predicate otherwise', () => {
  assert.equal(resolveOriginPolicy(undefined, 'o'), 'same-origin')
  assert.equal(resolveOriginPolicy('any', 'o'), null)
  const list = resolveOriginPolicy(['https://A.example'], 'o')
  assert.equal(originAllowed(list, 'https://a.example', 'b.example'), true)
  assert.equal(originAllowed(list, undefined, 'b.example'), false)
  assert.equal(originAllowed('same-origin', undefined, 'b.example'), true)
  assert.equal(originAllowed(null, 'https://evil.example', 'b.example'), true)
  for (const bad of ['*', 'all', 42, [1]]) {
    assert.throws(() => resolveOriginPolicy(bad, 'allowedOrigins'), {
      code: 'SWB_ERR_INVALID_OPTION',
      message: /allowedOrigins must be 'same-origin'/,
    })
  }
})
