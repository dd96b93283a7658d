import assert from 'node:assert/strict'
import { test } from 'node:test'
import { exportSPKI, generateKeyPair, SignJWT } from 'jose'
import { SwitchboardError } from '../errors/index.ts'
import type { ConnectResult, PublicationPush } from '../protocol/index.ts'
import { Hub } from './hub.ts'
import { jwtAuth } from './jwt-auth.ts'
import { MemoryTransport } from './test-utils/memory-transport.ts'
import { TestClient, turn } from './test-utils/test-client.ts'
import { StreamTickets } from './tickets.ts'

const secret = 'a-test-secret-of-decent-length!!'

function hs256(claims: Record<string, unknown>, exp?: number): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' })
  if (exp !== undefined) jwt.setExpirationTime(exp)
  return jwt.sign(new TextEncoder().encode(secret))
}

test('jwtAuth verifies HS256 and maps sub, exp, info and a configured channels claim', async () => {
  const auth = jwtAuth({ secret, channelsClaim: 'channels' })
  const exp = Math.floor(Date.now() / 1000) + 60
  const token = await hs256({ sub: 'u1', info: { name: 'Ann' }, channels: ['news'] }, exp)
  const id = await auth({ token, transport: 'ws-json' })
  assert.deepEqual(id, {
    user: 'u1',
    info: { name: 'Ann' },
    expiresAt: exp * 1000,
    channels: ['news'],
    authorizeChannels: true,
  })
  const forged = await new SignJWT({ sub: 'u1' })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode('another-secret-another-secret!!'))
  await assert.rejects(auth({ token: forged, transport: 'ws-json' }), {
    code: 'SWB_ERR_AUTH_UNAUTHORIZED',
  })
  await assert.rejects(auth({ transport: 'ws-json' }), { code: 'SWB_ERR_AUTH_UNAUTHORIZED' })
})

for (const alg of ['RS256', 'ES256'] as const) {
  test(`jwtAuth verifies ${alg} with a PEM public key and refuses another key`, async () => {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true })
    const other = await generateKeyPair(alg)
    const auth = jwtAuth({ publicKey: await exportSPKI(publicKey), algorithms: [alg] })
    const good = await new SignJWT({ sub: 'u2' })
      .setProtectedHeader({ alg })
      .setExpirationTime('1m')
      .sign(privateKey)
    assert.equal((await auth({ token: good, transport: 'sse' })).user, 'u2')
    const bad = await new SignJWT({ sub: 'u2' })
      .setProtectedHeader({ alg })
      .setExpirationTime('1m')
      .sign(other.privateKey)
    await assert.rejects(auth({ token: bad, transport: 'sse' }), {
      code: 'SWB_ERR_AUTH_UNAUTHORIZED',
    })
  })
}

test('jwtAuth refuses an algorithm it was not configured for', async () => {
  const { privateKey } = await generateKeyPair('ES256')
  const auth = jwtAuth({ secret })
  const token = await new SignJWT({ sub: 'x' })
    .setProtectedHeader({ alg: 'ES256' })
    .sign(privateKey)
  await assert.rejects(auth({ token, transport: 'http' }), { code: 'SWB_ERR_AUTH_UNAUTHORIZED' })
  assert.throws(() => jwtAuth({ secret, algorithms: ['RS256'] }), /HS256/)
})

test('connecting with an expired JWT answers SWB_ERR_AUTH_TOKEN_EXPIRED and closes with 3002', async () => {
  const hub = new Hub({ auth: jwtAuth({ secret }) })
  try {
    const c = new TestClient(hub)
    const token = await hs256({ sub: 'u' }, Math.floor(Date.now() / 1000) - 10)
    const r = await c.request({ type: 'connect', token })
    assert.equal(r.error?.code, 'SWB_ERR_AUTH_TOKEN_EXPIRED')
    assert.equal(c.transport.closedWith?.code, 3002)
  } finally {
    await hub.close()
  }
})

test('connecting with a bad token answers SWB_ERR_AUTH_UNAUTHORIZED and closes with 3500 (do not reconnect)', async () => {
  const hub = new Hub({ auth: jwtAuth({ secret }) })
  try {
    const c = new TestClient(hub)
    const r = await c.request({ type: 'connect', token: 'not.a.jwt' })
    assert.equal(r.error?.code, 'SWB_ERR_AUTH_UNAUTHORIZED')
    assert.deepEqual(c.pushes('disconnect'), [
      { type: 'disconnect', code: 3500, reason: 'connect refused', reconnect: false },
    ])
  } finally {
    await hub.close()
  }
})

test('an expired token disconnects a live session with 3002 unless it was refreshed in band', async () => {
  let now = 1_000_000
  const hub = new Hub({
    now: () => now,
    auth: ({ token }) => {
      const [user, until] = (token ?? '').split('@')
      if (!user || !until) throw new SwitchboardError('SWB_ERR_AUTH_UNAUTHORIZED')
      return { user, expiresAt: Number(until) }
    },
  })
  try {
    const stale = await TestClient.connect(hub, `ann@${now + 30_000}`)
    const fresh = await TestClient.connect(hub, `bob@${now + 30_000}`)
    const first = stale.transport.messages[0] as { result: ConnectResult }
    assert.equal(first.result.ttl, 30)
    now += 20_000
    const refreshed = await fresh.request<{ ttl: number }>({
      type: 'refresh',
      token: `bob@${now + 60_000}`,
    })
    assert.equal(refreshed.result?.ttl, 60)
    const wrongUser = await fresh.request({ type: 'refresh', token: `eve@${now + 60_000}` })
    assert.equal(wrongUser.error?.code, 'SWB_ERR_AUTH_UNAUTHORIZED')
    now += 15_000 // past the first expiry
    hub.sweep()
    await turn()
    assert.deepEqual(stale.pushes('disconnect'), [
      { type: 'disconnect', code: 3002, reason: 'token expired', reconnect: true },
    ])
    assert.equal(stale.transport.closedWith?.code, 3002)
    assert.equal(fresh.session.isClosed, false)
    assert.equal(hub.connectionCount, 1)
    now += 60_000
    hub.sweep()
    assert.equal(fresh.transport.closedWith?.code, 3002)
  } finally {
    await hub.close()
  }
})

test('a session that never sends connect is closed with 3004 after connectTimeout', async () => {
  let now = 0
  const hub = new Hub({ now: () => now, connectTimeout: 5000 })
  try {
    const c = new TestClient(hub)
    now += 6000
    hub.sweep()
    assert.equal(c.transport.closedWith?.code, 3004)
  } finally {
    await hub.close()
  }
})

test('an unauthorized subscribe is refused with SWB_ERR_CHANNEL_FORBIDDEN and subscribes nothing', async () => {
  const hub = new Hub({
    auth: ({ token }) => ({ user: token ?? '' }),
    namespaces: { vip: { canSubscribe: ({ user }) => user === 'boss' } },
  })
  try {
    const guest = await TestClient.connect(hub, 'guest')
    const boss = await TestClient.connect(hub, 'boss')
    const r = await guest.request({ type: 'subscribe', channel: 'vip:lounge' })
    assert.equal(r.error?.code, 'SWB_ERR_CHANNEL_FORBIDDEN')
    assert.equal(guest.session.subs.size, 0)
    assert.equal(
      (await boss.request({ type: 'subscribe', channel: 'vip:lounge' })).error,
      undefined,
    )
    await hub.publish('vip:lounge', 'secret')
    await turn()
    assert.equal(guest.pushes('publication').length, 0)
    assert.equal(boss.pushes<PublicationPush>('publication')[0]?.data, 'secret')
    assert.equal(hub.subscriberCount('vip:lounge'), 1)
    let created = false
    await assert.rejects(
      hub.openStream(
        {
          channels: ['vip:lounge'],
          ticket: hub.issueTicket({ user: 'guest' }, { channels: ['vip:lounge'] }),
        },
        () => {
          created = true
          throw new Error('unreachable')
        },
      ),
      (err: SwitchboardError) => err.code === 'SWB_ERR_CHANNEL_FORBIDDEN' && err.status === 403,
    )
    assert.equal(created, false, 'the stream is refused before the response starts')
    // The refusal names the channel at fault, so a client can reopen the stream without it.
    const ticket = hub.issueTicket(
      { user: 'guest' },
      { channels: ['lobby', 'vip:lounge', 'nowhere:x', 'vip:bad name'] },
    )
    for (const [channel, code] of [
      ['vip:lounge', 'SWB_ERR_CHANNEL_FORBIDDEN'],
      ['nowhere:x', 'SWB_ERR_CHANNEL_UNKNOWN_NAMESPACE'],
      ['vip:bad name', 'SWB_ERR_CHANNEL_INVALID_NAME'],
    ] as const) {
      await assert.rejects(
        hub.openStream({ channels: ['lobby', channel], ticket }, () => {
          throw new Error('unreachable')
        }),
        (err: SwitchboardError) =>
          err.code === code &&
          err.details?.channel === channel &&
          err.message.split(JSON.stringify(channel)).length === 2 &&
          !err.message.includes('"lobby"'),
      )
    }
  } finally {
    await hub.close()
  }
})

test('stream tickets verify, expire and resist tampering', () => {
  let now = 0
  const tickets = new StreamTickets({ secret: 'sixteen-bytes-secret', now: () => now })
  const t = tickets.issue(
    { user: 'u', info: { a: 1 }, expiresAt: 99_000 },
    { ttl: 1000, channels: ['a'] },
  )
  const use = { kind: 'stream', channels: ['a'] } as const
  assert.deepEqual(tickets.verify(t, use), { user: 'u', info: { a: 1 }, expiresAt: 99_000 })
  const other = new StreamTickets({ secret: 'sixteen-bytes-secret', now: () => now })
  assert.equal(other.verify(t, use).user, 'u', 'any node with the same secret accepts it')
  const [body, sig] = t.split('.')
  const forged = `${Buffer.from(JSON.stringify({ u: 'admin', x: 5000, s: ['a'] })).toString('base64url')}.${sig}`
  assert.throws(() => tickets.verify(forged, use), { code: 'SWB_ERR_AUTH_UNAUTHORIZED' })
  assert.throws(() => tickets.verify(`${body}`, use), { code: 'SWB_ERR_AUTH_UNAUTHORIZED' })
  now = 2000
  assert.throws(() => tickets.verify(t, use), { code: 'SWB_ERR_AUTH_TOKEN_EXPIRED' })
})

test('server-side channels from the token are subscribed at connect and reported in the reply', async () => {
  const hub = new Hub({ auth: () => ({ user: 'u', channels: ['alerts'] }) })
  try {
    await hub.publish('alerts', 'before')
    const c = await TestClient.connect(hub, 't')
    const reply = c.transport.messages[0] as { result: ConnectResult }
    assert.equal(reply.result.subs?.alerts?.offset, 1)
    await hub.publish('alerts', 'after')
    await turn()
    assert.deepEqual(
      c.pushes<PublicationPush>('publication').map((p) => p.data),
      ['after'],
    )
  } finally {
    await hub.close()
  }
})

test('an identity found at the upgrade (a cookie) connects a session whose connect has no token', async () => {
  const hub = new Hub({ auth: () => ({ user: 'from-token' }) })
  try {
    const connectWith = async (command: string) => {
      const transport = new MemoryTransport()
      hub.connect(transport, { identity: { user: 'from-cookie' } }).receive(command)
      await turn()
      return (transport.messages[0] as { result: ConnectResult }).result.user
    }
    assert.equal(await connectWith('{"id":1,"type":"connect"}'), 'from-cookie')
    assert.equal(await connectWith('{"id":1,"type":"connect","token":"x"}'), 'from-token')
  } finally {
    await hub.close()
  }
})
