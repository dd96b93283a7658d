// Each limit of the channel endpoint over real sockets: its coded error with its HTTP status or
// close code, its count in `hub.limiter.refused` and in the metrics recorder, and another client that keeps its service.
// Clients are told apart by `X-Forwarded-For` (the app trusts its proxy), and by their token,
// which the test's connect hook takes as the user id.
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import WebSocket from 'ws'
import { type LimitOptions, NO_METRICS, Switchboard } from '../../src/index.ts'
import { JSON_SUBPROTOCOL } from '../../src/protocol/index.ts'

interface Server {
  readonly app: Switchboard
  readonly port: number
  /** The kinds the metrics recorder was told of, one entry a refusal. */
  readonly refused: string[]
}

async function serve(limits: LimitOptions, maxSubscriptions?: number): Promise<Server> {
  const app = new Switchboard({ logger: false, trustProxy: true })
  app.channels.configure({
    limits: { limitLoopback: true, ...limits },
    auth: ({ token }) => ({ user: token ?? '' }),
    ...(maxSubscriptions === undefined ? null : { maxSubscriptions }),
  })
  app.channels.namespace('room', { clientPublish: true })
  app.channels.rpc('echo', (data) => data)
  const refused: string[] = []
  app.hub.recorder = { ...NO_METRICS, enabled: true, limitRefused: (kind) => refused.push(kind) }
  const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, port, refused }
}

/** A raw protocol v1 client: every message it received, and a way to send a command. */
interface Raw {
  readonly ws: WebSocket
  readonly inbox: { id?: number; type?: string; code?: number; error?: { code: string } }[]
  readonly closed: Promise<number>
  call(command: Record<string, unknown>): Promise<{ result?: unknown; error?: { code: string } }>
}

let nextId = 1

/** Opens a WebSocket from `ip`; resolves with the HTTP status when the upgrade is refused. */
function open(port: number, ip: string): Promise<Raw | { status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/switchboard`, JSON_SUBPROTOCOL, {
      headers: { 'x-forwarded-for': ip },
    })
    const inbox: Raw['inbox'] = []
    ws.on('message', (d) => inbox.push(JSON.parse(String(d))))
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)))
    ws.once('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (c) => {
        body += c
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    ws.once('error', (err) => {
      if (!String(err).includes('Unexpected server response')) reject(err)
    })
    ws.once('open', () =>
      resolve({
        ws,
        inbox,
        closed,
        call(command) {
          const id = nextId++
          ws.send(JSON.stringify({ id, ...command }))
          return new Promise((r) => {
            const check = () => {
              const reply = inbox.find((m) => m.id === id)
              if (reply) r(reply as { result?: unknown; error?: { code: string } })
              else setTimeout(check, 2)
            }
            check()
          })
        },
      }),
    )
  })
}

async function connected(port: number, ip: string, user = ''): Promise<Raw> {
  const raw = await open(port, ip)
  assert.ok('ws' in raw, `the upgrade from ${ip} was refused: ${JSON.stringify(raw)}`)
  const reply = await raw.call({ type: 'connect', ...(user === '' ? null : { token: user }) })
  assert.equal(reply.error, undefined, JSON.stringify(reply))
  return raw
}

function sse(port: number, ip: string, user = ''): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/switchboard?channel=room:a`, {
    headers: {
      'x-forwarded-for': ip,
      ...(user === '' ? null : { authorization: `Bearer ${user}` }),
    },
  })
}

/** The other client keeps its service: it connects and its rpc answers. */
async function serviceKept(port: number, ip: string, user = ''): Promise<void> {
  const other = await connected(port, ip, user)
  const reply = await other.call({ type: 'rpc', method: 'echo', data: 7 })
  assert.deepEqual(reply.result, { data: 7 }, JSON.stringify(reply))
  other.ws.close()
}

describe('limits of the channel endpoint, over real sockets', () => {
  const servers: Server[] = []
  after(async () => {
    await Promise.all(servers.map((s) => s.app.close()))
  })
  const start = async (limits: LimitOptions, maxSubscriptions?: number) => {
    const s = await serve(limits, maxSubscriptions)
    servers.push(s)
    return s
  }

  test('connections per IP: the next WebSocket upgrade and SSE stream get 429 SWB_ERR_LIMIT_CONNECTIONS', async () => {
    const { app, port, refused } = await start({ connectionsPerIp: 2 })
    const held = [await connected(port, '10.0.0.1'), await connected(port, '10.0.0.1')]
    const upgrade = await open(port, '10.0.0.1')
    assert.ok('status' in upgrade)
    assert.equal(upgrade.status, 429)
    assert.equal(JSON.parse(upgrade.body).error.code, 'SWB_ERR_LIMIT_CONNECTIONS')
    const stream = await sse(port, '10.0.0.1')
    assert.equal(stream.status, 429)
    assert.equal(
      ((await stream.json()) as { error: { code: string } }).error.code,
      'SWB_ERR_LIMIT_CONNECTIONS',
    )
    await serviceKept(port, '10.0.0.2')
    held[0]!.ws.close()
    await held[0]!.closed
    await new Promise((r) => setTimeout(r, 50))
    ;(await connected(port, '10.0.0.1')).ws.close() // a slot came back
    held[1]!.ws.close()
    assert.equal(app.hub.limiter.refused.connectionsPerIp, 2)
    assert.deepEqual(refused, ['connections_per_ip', 'connections_per_ip'])
  })

  test('connects per IP per second: a burst past twice the rate gets 429 SWB_ERR_LIMIT_CONNECT_RATE', async () => {
    const { app, port, refused } = await start({ connectsPerIpPerSecond: 1 })
    // Six at once: the burst (two) passes, a third may if a token came back meanwhile.
    const results = await Promise.all(Array.from({ length: 6 }, () => open(port, '10.0.1.1')))
    const passed = results.filter((r) => 'ws' in r).length
    for (const r of results) {
      if ('ws' in r) r.ws.close()
      else {
        assert.equal(r.status, 429)
        assert.equal(JSON.parse(r.body).error.code, 'SWB_ERR_LIMIT_CONNECT_RATE')
      }
    }
    assert.ok(passed >= 2 && passed <= 3, `${passed} of 6 passed`)
    assert.equal((await sse(port, '10.0.1.1')).status, 429)
    await serviceKept(port, '10.0.1.2')
    assert.equal(app.hub.limiter.refused.connectsPerIp, 6 - passed + 1)
    assert.deepEqual(refused, Array(7 - passed).fill('connect_rate'))
  })

  test('connections per user: the next connect is refused with SWB_ERR_LIMIT_CONNECTIONS and closed with 3006, the next stream 429', async () => {
    const { app, port, refused } = await start({ connectionsPerUser: 2 })
    const held = [
      await connected(port, '10.0.2.1', 'ann'),
      await connected(port, '10.0.2.2', 'ann'),
    ]
    const third = await open(port, '10.0.2.3')
    assert.ok('ws' in third)
    const reply = await third.call({ type: 'connect', token: 'ann' })
    assert.equal(reply.error?.code, 'SWB_ERR_LIMIT_CONNECTIONS')
    assert.equal(await third.closed, 3006)
    const push = third.inbox.find((m) => m.type === 'disconnect')
    assert.equal(push?.code, 3006)
    assert.equal((await sse(port, '10.0.2.4', 'ann')).status, 429)
    await serviceKept(port, '10.0.2.5', 'bob')
    for (const h of held) h.ws.close()
    assert.equal(app.hub.limiter.refused.connectionsPerUser, 2)
    assert.deepEqual(refused, ['connections_per_user', 'connections_per_user'])
  })

  test('publishes per session: past the burst, publish replies SWB_ERR_LIMIT_RATE while another session publishes on', async () => {
    const { app, port, refused } = await start({ publishesPerSecond: 1 })
    const a = await connected(port, '10.0.3.1', 'ann')
    // Eight sent at once: the burst (two) passes, a third may if a token came back meanwhile.
    const replies = await Promise.all(
      Array.from({ length: 8 }, (_, i) => a.call({ type: 'publish', channel: 'room:a', data: i })),
    )
    const passed = replies.filter((r) => r.error === undefined).length
    assert.ok(passed >= 2 && passed <= 3, `${passed} of 8 passed`)
    for (const r of replies) if (r.error) assert.equal(r.error.code, 'SWB_ERR_LIMIT_RATE')
    const b = await connected(port, '10.0.3.2', 'bob')
    assert.equal((await b.call({ type: 'publish', channel: 'room:a', data: 'b' })).error, undefined)
    a.ws.close()
    b.ws.close()
    assert.equal(app.hub.limiter.refused.publishes, 8 - passed)
    assert.deepEqual(refused, Array(8 - passed).fill('publish_rate'))
  })

  test('publishes per user over HTTP: past the burst, POST publish answers 429 SWB_ERR_LIMIT_RATE', async () => {
    const { port, refused } = await start({ publishesPerUserPerSecond: 1 })
    const post = (user: string) =>
      fetch(`http://127.0.0.1:${port}/switchboard`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${user}` },
        body: JSON.stringify({ id: 1, type: 'publish', channel: 'room:a', data: 1 }),
      })
    const answers = await Promise.all(Array.from({ length: 6 }, () => post('ann')))
    const passed = answers.filter((r) => r.status === 200).length
    assert.ok(passed >= 2 && passed <= 3, `${passed} of 6 passed`)
    for (const r of answers.filter((x) => x.status !== 200)) {
      assert.equal(r.status, 429)
      assert.equal(
        ((await r.json()) as { error: { code: string } }).error.code,
        'SWB_ERR_LIMIT_RATE',
      )
    }
    assert.equal((await post('bob')).status, 200)
    assert.deepEqual(refused, Array(6 - passed).fill('publish_rate'))
  })

  test('rpc calls per session: past the burst, rpc replies SWB_ERR_LIMIT_RATE while another session calls on', async () => {
    const { app, port, refused } = await start({ rpcPerSecond: 1 })
    const a = await connected(port, '10.0.4.1', 'ann')
    const replies = await Promise.all(
      Array.from({ length: 6 }, (_, i) => a.call({ type: 'rpc', method: 'echo', data: i })),
    )
    const passed = replies.filter((r) => r.error === undefined).length
    assert.ok(passed >= 2 && passed <= 3, `${passed} of 6 passed`)
    for (const r of replies) if (r.error) assert.equal(r.error.code, 'SWB_ERR_LIMIT_RATE')
    await serviceKept(port, '10.0.4.2', 'bob')
    a.ws.close()
    assert.equal(app.hub.limiter.refused.rpc, 6 - passed)
    assert.deepEqual(refused, Array(6 - passed).fill('rpc_rate'))
  })

  test('subscriptions per session: the next subscribe replies SWB_ERR_CHANNEL_TOO_MANY_SUBSCRIPTIONS and is counted', async () => {
    const { port, refused } = await start({}, 2)
    const a = await connected(port, '10.0.5.1')
    for (const c of ['room:a', 'room:b']) {
      assert.equal((await a.call({ type: 'subscribe', channel: c })).error, undefined)
    }
    const r = await a.call({ type: 'subscribe', channel: 'room:c' })
    assert.equal(r.error?.code, 'SWB_ERR_CHANNEL_TOO_MANY_SUBSCRIPTIONS')
    const b = await connected(port, '10.0.5.2')
    assert.equal((await b.call({ type: 'subscribe', channel: 'room:c' })).error, undefined)
    a.ws.close()
    b.ws.close()
    assert.deepEqual(refused, ['subscriptions'])
  })
})
