// In-band token refresh over SSE against the real server: tokens live two seconds, the hub checks
// expiry every 100 ms, and the client must stay on one stream by POSTing `refresh` with the
// session id its stream's `connected` push gave it.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { EventSource } from 'eventsource'
import {
  type EventSourceConstructor,
  type StateEvent,
  SwitchboardClient,
} from '../../src/client/index.ts'
import { Switchboard, SwitchboardError } from '../../src/index.ts'
import { waitFor } from '../../src/test-utils/wait.ts'

const LIFETIME = 2000

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

test('an SSE client refreshes its short-lived token over POST: two expiry periods, no reconnect', async () => {
  const app = new Switchboard({ logger: false })
  let refused = 0
  // A token is `user@expiresAt`; the hub itself refuses one whose time has passed.
  app.channels.configure({
    sweepInterval: 100,
    auth: ({ token }) => {
      const [user, until] = (token ?? '').split('@')
      if (!user || !until) {
        refused++
        throw new SwitchboardError('SWB_ERR_AUTH_UNAUTHORIZED')
      }
      return { user, expiresAt: Number(until) }
    },
  })
  app.channels.namespace('feed', { historySize: 10, clientPublish: true })
  const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
  let issued = 0
  const c = new SwitchboardClient({
    url: `http://127.0.0.1:${port}/switchboard`,
    transport: 'sse',
    EventSource: EventSource as unknown as EventSourceConstructor,
    token: () => {
      issued++
      return `u1@${Date.now() + LIFETIME}`
    },
    minReconnectDelay: 20,
    maxReconnectDelay: 100,
    visibility: null,
  })
  const states: StateEvent[] = []
  c.on('state', (e) => states.push(e))
  const got: unknown[] = []
  c.subscribe('feed:x', { onPublication: (p) => got.push(p.data) })
  c.connect()
  try {
    await waitFor(() => c.state === 'connected' && app.hub.sessionsOf('u1').length === 1)
    const session = app.hub.sessionsOf('u1')[0]!
    const firstExpiry = session.expiresAt
    // Two full token lifetimes, publishing from the server every 500 ms.
    const end = Date.now() + 2 * LIFETIME + 300
    let sent = 0
    while (Date.now() < end && sent < 20) {
      await app.hub.publish('feed:x', sent++)
      await sleep(500)
    }
    await waitFor(() => got.length === sent, 2000, 'every publication')
    assert.deepEqual(
      got,
      Array.from({ length: sent }, (_, i) => i),
    )
    assert.ok(sent >= 8, `only ${sent} publications in two lifetimes`)
    // The same stream session throughout, extended past its first expiry by refreshes.
    assert.equal(c.state, 'connected')
    assert.deepEqual(app.hub.sessionsOf('u1'), [session])
    assert.equal(session.isClosed, false)
    assert.ok(session.expiresAt > firstExpiry + LIFETIME, 'the session was extended twice')
    assert.deepEqual(
      states.map((e) => e.state),
      ['connecting', 'connected'],
    )
    assert.ok(issued >= 3, `${issued} tokens issued: the stream's and at least two refreshes`)
    // POSTs after the first token expired carry the refreshed one.
    const r = await c.publish('feed:x', 'posted')
    assert.equal(r.offset, sent + 1)
    assert.equal(refused, 0)
  } finally {
    c.disconnect()
    await app.close({ graceful: 0 })
  }
})
