// Stream tickets (issue #19 items 1 and 2): a ticket is refused once the credential it came from
// has expired, opens only the stream it was issued for, dies young, and has one spelling.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { SignJWT } from 'jose'
import { Hub, jwtAuth, StreamTickets, Switchboard } from '../../src/index.ts'
import { postCommand, sseAttempt } from './support.ts'

const SECRET = 'a-jwt-secret-that-is-32-bytes-ok'

function jwt(sub: string, expSeconds: number): Promise<string> {
  return new SignJWT({ sub })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(expSeconds)
    .sign(new TextEncoder().encode(SECRET))
}

describe('a ticket over HTTP, on a clock the test moves', () => {
  let clock = Date.now()
  const now = () => clock
  const app = new Switchboard({ logger: false })
  let base = ''

  before(async () => {
    app.channels.configure({ auth: jwtAuth({ secret: SECRET, now }), now })
    app.channels.namespace('chat', { clientPublish: true, historySize: 10 })
    app.channels.rpc('whoami', (_data, ctx) => ctx.user)
    base = `http://127.0.0.1:${(await app.listen({ port: 0 })).port}/switchboard`
    await app.hub.publish('chat:a', 'before')
  })
  after(() => app.close({ graceful: 100 }))

  async function ticketFor(token: string, channels: string[]): Promise<string> {
    const res = await fetch(`${base}/ticket`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channels }),
    })
    assert.equal(res.status, 200)
    return ((await res.json()) as { ticket: string }).ticket
  }

  test('the hole: a ticket from a JWT that has since expired reads no history, publishes nothing and opens no stream', async () => {
    const token = await jwt('mallory', Math.floor(clock / 1000) + 1)
    const ticket = await ticketFor(token, ['chat:a'])
    clock += 2000 // the JWT is now expired
    const q = `?ticket=${encodeURIComponent(ticket)}`
    const history = await postCommand(`${base}${q}`, { id: 1, type: 'history', channel: 'chat:a' })
    assert.equal(history.status, 401)
    assert.equal(history.body.error?.code, 'SWB_ERR_AUTH_TOKEN_EXPIRED')
    const publish = await postCommand(`${base}${q}`, {
      id: 2,
      type: 'publish',
      channel: 'chat:a',
      data: 'after expiry',
    })
    assert.equal(publish.status, 401)
    const stream = await sseAttempt(
      `${base}?channel=chat:a&ticket=${encodeURIComponent(ticket)}`,
      {},
    )
    stream.close()
    assert.equal(stream.status, 401)
    assert.match(stream.text(), /SWB_ERR_AUTH_TOKEN_EXPIRED/)
    assert.deepEqual(
      (await app.hub.history('chat:a')).publications.map((p) => p.data),
      ['before'],
    )
  })

  test('a ticket opens a stream of its own channels only, and no commands', async () => {
    const token = await jwt('ann', Math.floor(clock / 1000) + 600)
    const ticket = encodeURIComponent(await ticketFor(token, ['chat:a', 'chat:b']))
    const ok = await sseAttempt(`${base}?channel=chat:b&ticket=${ticket}`, {})
    ok.close()
    assert.equal(ok.status, 200, 'any of its channels')
    const other = await sseAttempt(
      `${base}?channel=chat:a&channel=chat:secret&ticket=${ticket}`,
      {},
    )
    other.close()
    assert.equal(other.status, 401)
    assert.match(other.text(), /not issued for channel \\"chat:secret\\"/)
    for (const command of [
      { id: 1, type: 'publish', channel: 'chat:a', data: 'x' },
      { id: 2, type: 'rpc', method: 'whoami' },
      { id: 3, type: 'history', channel: 'chat:a' },
    ]) {
      const res = await postCommand(`${base}?ticket=${ticket}`, command)
      assert.equal(res.status, 401, command.type)
      assert.equal(res.body.error?.code, 'SWB_ERR_AUTH_UNAUTHORIZED')
    }
    const forCommands = app.hub.issueTicket({ user: 'ann' }, { commands: true })
    const rpc = await postCommand(`${base}?ticket=${encodeURIComponent(forCommands)}`, {
      id: 4,
      type: 'rpc',
      method: 'whoami',
    })
    assert.deepEqual([rpc.status, rpc.body.result], [200, { data: 'ann' }])
  })

  test('a replayed ticket is refused once its 30-second default lifetime is over', async () => {
    const token = await jwt('ann', Math.floor(clock / 1000) + 3600)
    const ticket = encodeURIComponent(await ticketFor(token, ['chat:a']))
    clock += 29_000
    const replay = await sseAttempt(`${base}?channel=chat:a&ticket=${ticket}`, {})
    replay.close()
    assert.equal(replay.status, 200, 'within its lifetime a ticket may reopen its stream')
    clock += 2_000
    const late = await sseAttempt(`${base}?channel=chat:a&ticket=${ticket}`, {})
    late.close()
    assert.equal(late.status, 401)
    assert.match(late.text(), /SWB_ERR_AUTH_TOKEN_EXPIRED/)
  })
})

test('a ticket issued by a node whose clock lags is still refused once its credential expired (one check for every identity)', async () => {
  const real = Date.now()
  const issuer = new Hub({ ticketSecret: 'shared-secret-0123456789', now: () => real - 60_000 })
  const verifier = new Hub({ ticketSecret: 'shared-secret-0123456789', now: () => real })
  try {
    // The issuer believes the credential has a minute left; the verifier knows it has expired.
    const ticket = issuer.issueTicket({ user: 'u', expiresAt: real - 1000 }, { channels: ['a'] })
    await assert.rejects(
      verifier.authenticate({
        ticket,
        ticketUse: { kind: 'stream', channels: ['a'] },
        transport: 'sse',
      }),
      { code: 'SWB_ERR_AUTH_TOKEN_EXPIRED' },
    )
    const reply = await verifier.httpCommand({ id: 1, type: 'ping' }, { ticket })
    assert.equal(reply.status, 401)
  } finally {
    await Promise.all([issuer.close(), verifier.close()])
  }
})

test('only the canonical signature is accepted: padding, another alphabet or a stray character is a forgery', () => {
  const tickets = new StreamTickets({ secret: 'sixteen-bytes-secret' })
  const use = { kind: 'stream', channels: ['a'] } as const
  const ticket = tickets.issue({ user: 'u' }, { channels: ['a'] })
  assert.equal(tickets.verify(ticket, use).user, 'u')
  const [body, sig] = ticket.split('.') as [string, string]
  const variants = [
    `${body}.${sig}=`,
    `${body}.${sig}==`,
    `${body}.${sig.replace(/-/g, '+').replace(/_/g, '/')}${/[-_]/.test(sig) ? '' : '='}`,
    `${body}.${sig} `,
    `${body}.${sig}.`,
    `${body}.${sig.slice(0, -1)}`,
    `${body}..${sig}`,
    `.${sig}`,
    `${body}.`,
    '',
  ]
  for (const forged of variants) {
    assert.throws(() => tickets.verify(forged, use), { code: 'SWB_ERR_AUTH_UNAUTHORIZED' }, forged)
  }
})
