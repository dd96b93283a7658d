// The SDK's history start and reset signal against the real server (`new Switchboard()` with
// `app.channels`, memory broker, port 0). The application here is what a chat page should be:
// append on publication, replace on reset, nothing else — no offsets, no epochs, no dedup. After
// a restart (a new memory broker: a new epoch) its list must equal what a fresh page would show.
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { EventSource } from 'eventsource'
import { WebSocket } from 'ws'
import {
  type EventSourceConstructor,
  type ResetContext,
  SwitchboardClient,
  type WebSocketConstructor,
} from '../../src/client/index.ts'
import type { ClientOptions } from '../../src/client/options.ts'
import { Switchboard } from '../../src/index.ts'
import { waitFor } from '../../src/test-utils/wait.ts'

const LIMIT = 5

async function startApp(port = 0): Promise<{ app: Switchboard; port: number }> {
  const app = new Switchboard({ logger: false })
  app.channels.configure({ auth: ({ token }) => ({ user: token ?? '' }) })
  app.channels.namespace('chat', { historySize: 100, clientPublish: true })
  const { port: bound } = await app.listen({ port, host: '127.0.0.1' })
  return { app, port: bound }
}

const clients: SwitchboardClient[] = []
const apps = new Set<Switchboard>()
after(async () => {
  for (const c of clients) c.disconnect()
  for (const a of apps) await a.close({ graceful: 0 })
})

function client(port: number, options: Partial<ClientOptions> = {}): SwitchboardClient {
  const c = new SwitchboardClient({
    url: `ws://127.0.0.1:${port}/switchboard`,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    EventSource: EventSource as unknown as EventSourceConstructor,
    token: 'u1',
    // 150 ms between attempts gives the restarted server time to listen.
    minReconnectDelay: 150,
    maxReconnectDelay: 150,
    random: () => 0.999,
    upgradeProbeDelay: 100,
    visibility: null,
    ...options,
  })
  clients.push(c)
  return c
}

/** A chat page's whole channel logic. */
function chatPage(c: SwitchboardClient, channel: string) {
  const list: unknown[] = []
  const resets: ResetContext[] = []
  c.subscribe(channel, {
    history: { limit: LIMIT },
    onPublication: (p) => list.push(p.data),
    onReset: (r) => {
      resets.push(r)
      list.splice(0, list.length, ...r.publications.map((p) => p.data))
    },
  })
  return { list, resets }
}

/** What a fresh page shows: the last LIMIT publications the server keeps. */
async function freshView(app: Switchboard, channel: string): Promise<unknown[]> {
  const h = await app.hub.history(channel)
  return h.publications.slice(-LIMIT).map((p) => p.data)
}

async function restartScenario(transport: 'websocket' | 'sse'): Promise<void> {
  const first = await startApp()
  apps.add(first.app)
  for (let i = 1; i <= 8; i++) await first.app.hub.publish('chat:room', `before-${i}`)
  const c = client(first.port, { transport })
  const page = chatPage(c, 'chat:room')
  c.connect()
  await waitFor(() => page.list.length === LIMIT, 5000, 'history start')
  assert.deepEqual(page.list, await freshView(first.app, 'chat:room'))
  const r = await c.publish('chat:room', 'mine')
  assert.equal(r.offset, 9)
  await waitFor(() => page.list.length === LIMIT + 1, 5000, 'own publication')
  assert.deepEqual(page.list.slice(-2), ['before-8', 'mine'])

  await first.app.close({ graceful: 0 })
  apps.delete(first.app)
  await waitFor(() => c.state === 'connecting', 5000, 'connection lost')
  const second = await startApp(first.port)
  apps.add(second.app)
  // The new process has a new memory broker: a new epoch, and offsets start at 1 again, below
  // the 9 the page saw. Two publications land before the page is back.
  await second.app.hub.publish('chat:room', 'after-1')
  await second.app.hub.publish('chat:room', 'after-2')
  await waitFor(() => page.resets.length === 1, 8000, 'reset after restart')
  assert.equal(page.resets[0]?.reason, 'epoch-changed')
  assert.deepEqual(page.list, ['after-1', 'after-2'])
  // Live again, including the page's own publish: offsets 3 and 4 are below the old 9.
  await c.publish('chat:room', 'mine-again')
  await second.app.hub.publish('chat:room', 'after-3')
  await waitFor(() => page.list.length === 4, 5000, 'live after restart')
  await new Promise((res) => setTimeout(res, 50)) // nothing more (no duplicates) arrives
  assert.deepEqual(page.list, await freshView(second.app, 'chat:room'))
  assert.deepEqual(page.list, ['after-1', 'after-2', 'mine-again', 'after-3'])
  assert.equal(page.resets.length, 1)
  c.disconnect()
  await second.app.close({ graceful: 0 })
  apps.delete(second.app)
}

describe('history start and reset against a real Switchboard server', () => {
  test('over WebSocket: a page shows the recent history, then live, and after a restart with a new epoch exactly what a fresh page shows', async () => {
    await restartScenario('websocket')
  })

  test('over SSE: the same history start, restart and reset', async () => {
    await restartScenario('sse')
  })

  test('a reconnect that recovers delivers what was missed once, with no reset', async () => {
    const { app, port } = await startApp()
    apps.add(app)
    const c = client(port)
    const page = chatPage(c, 'chat:recover')
    c.connect()
    await waitFor(() => c.state === 'connected')
    await app.hub.publish('chat:recover', 1)
    await waitFor(() => page.list.length === 1)
    await app.hub.disconnect('u1', 3003, 'test')
    await waitFor(() => c.state === 'connecting')
    for (let i = 2; i <= 4; i++) await app.hub.publish('chat:recover', i)
    await waitFor(() => page.list.length === 4, 5000)
    await new Promise((res) => setTimeout(res, 50))
    assert.deepEqual(page.list, [1, 2, 3, 4])
    assert.equal(page.resets.length, 0)
    c.disconnect()
    await app.close({ graceful: 0 })
    apps.delete(app)
  })
})
