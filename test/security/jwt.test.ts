// jwtAuth's defaults (issue #19 item 3) and the token attacks of the review, each refused.
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { describe, test } from 'node:test'
import { exportSPKI, generateKeyPair, SignJWT } from 'jose'
import { MemoryTransport } from '../../src/hub/test-utils/memory-transport.ts'
import { Hub, jwtAuth } from '../../src/index.ts'
import type { ConnectResult } from '../../src/protocol/index.ts'
import { until } from '../../src/test-utils/wait.ts'

const SECRET = 'a-jwt-secret-that-is-32-bytes-ok'
const key = new TextEncoder().encode(SECRET)
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600

function sign(claims: Record<string, unknown>, header: Record<string, unknown> = {}) {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', ...header }).sign(key)
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

const refused = { code: 'SWB_ERR_AUTH_UNAUTHORIZED' }

describe('jwtAuth defaults', () => {
  test('an HMAC secret shorter than 32 bytes is refused at configuration', () => {
    for (const weak of ['', 'short', 'x'.repeat(31), new Uint8Array(16)]) {
      assert.throws(() => jwtAuth({ secret: weak }), {
        code: 'SWB_ERR_INVALID_OPTION',
        message: /at least 32 bytes/,
      })
    }
    assert.equal(typeof jwtAuth({ secret: 'x'.repeat(32) }), 'function')
    assert.equal(typeof jwtAuth({ secret: new Uint8Array(32) }), 'function')
  })

  test('sub must be a non-empty string: a number, an empty string or none is refused', async () => {
    const auth = jwtAuth({ secret: SECRET })
    const exp = inAnHour()
    for (const sub of [42, '', null, ['a'], { id: 1 }]) {
      const token = await sign({ sub, exp })
      await assert.rejects(auth({ token, transport: 'http' }), refused, JSON.stringify(sub))
    }
    await assert.rejects(auth({ token: await sign({ exp }), transport: 'http' }), refused)
    assert.equal(
      (await auth({ token: await sign({ sub: '42', exp }), transport: 'http' })).user,
      '42',
    )
  })

  test('an iat in the future beyond a small clock skew is refused', async () => {
    const auth = jwtAuth({ secret: SECRET })
    const now = Math.floor(Date.now() / 1000)
    const exp = now + 7200
    await assert.rejects(
      auth({ token: await sign({ sub: 'u', iat: now + 3600, exp }), transport: 'http' }),
      {
        ...refused,
        message: /iat is in the future/,
      },
    )
    const skewed = await sign({ sub: 'u', iat: now + 3, exp })
    assert.equal((await auth({ token: skewed, transport: 'http' })).user, 'u', 'within 5 s')
  })

  test('a token without exp is refused unless requireExpiry is turned off', async () => {
    const token = await sign({ sub: 'u' })
    await assert.rejects(jwtAuth({ secret: SECRET })({ token, transport: 'http' }), refused)
    const lax = jwtAuth({ secret: SECRET, requireExpiry: false })
    assert.equal((await lax({ token, transport: 'http' })).user, 'u')
  })

  test('the channels claim is ignored unless configured, and when configured still passes canSubscribe', async () => {
    const token = await sign({ sub: 'eve', exp: inAnHour(), channels: ['vip:vault', 'news'] })
    const subsOf = async (auth: ReturnType<typeof jwtAuth>) => {
      const hub = new Hub({ auth })
      hub.namespace('vip', { canSubscribe: ({ user }) => user === 'boss' })
      try {
        const transport = new MemoryTransport()
        hub.connect(transport).receive(JSON.stringify({ id: 1, type: 'connect', token }))
        await until(() => transport.messages.length > 0, 'the connect reply')
        const reply = transport.messages[0] as { result: ConnectResult }
        return Object.keys(reply.result.subs ?? {}).sort()
      } finally {
        await hub.close()
      }
    }
    assert.deepEqual(await subsOf(jwtAuth({ secret: SECRET })), [])
    assert.deepEqual(await subsOf(jwtAuth({ secret: SECRET, channelsClaim: 'channels' })), ['news'])
    assert.deepEqual(
      await subsOf(
        jwtAuth({ secret: SECRET, channelsClaim: 'channels', trustChannelsClaim: true }),
      ),
      ['news', 'vip:vault'],
    )
  })
})

describe('forged tokens (the review found these refused; they stay refused)', () => {
  test("alg 'none' is refused", async () => {
    const auth = jwtAuth({ secret: SECRET })
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'admin', exp: inAnHour() })}.`
    await assert.rejects(auth({ token, transport: 'http' }), refused)
  })

  test('algorithm confusion: an HS256 token signed with the RSA public key is refused by an RS256 verifier', async () => {
    const { publicKey } = await generateKeyPair('RS256', { extractable: true })
    const pem = await exportSPKI(publicKey)
    const auth = jwtAuth({ publicKey: pem, algorithms: ['RS256'] })
    const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'admin', exp: inAnHour() })}`
    const sig = createHmac('sha256', pem).update(head).digest('base64url')
    await assert.rejects(auth({ token: `${head}.${sig}`, transport: 'http' }), refused)
  })

  test('a tampered payload, a token signed with another secret, and garbage are refused', async () => {
    const auth = jwtAuth({ secret: SECRET })
    const good = await sign({ sub: 'ann', exp: inAnHour() })
    const [h, , s] = good.split('.')
    const tampered = `${h}.${b64({ sub: 'admin', exp: inAnHour() })}.${s}`
    const other = await new SignJWT({ sub: 'admin', exp: inAnHour() })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('another-secret-that-is-32-bytes!'))
    for (const token of [tampered, other, 'a.b.c', 'not a jwt', `${good}x`]) {
      await assert.rejects(auth({ token, transport: 'http' }), refused, token)
    }
  })
})
