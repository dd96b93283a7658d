// A Node client given only a WebSocket constructor (no EventSource), as docs/client.md shows for
// Node, against the real server restarting on the same port: while the port refuses, the client
// retries WebSocket with backoff; it never stops with "no transport" (state code 5).
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { WebSocket } from 'ws'
import {
  type StateEvent,
  SwitchboardClient,
  type WebSocketConstructor,
} from '../../src/client/index.ts'
import { Switchboard } from '../../src/index.ts'
import { waitFor } from '../../src/test-utils/wait.ts'

async function startApp(port = 0): Promise<{ app: Switchboard; port: number }> {
  const app = new Switchboard({ logger: false })
  app.channels.namespace('chat', { historySize: 100, clientPublish: true })
  const { port: bound } = await app.listen({ port, host: '127.0.0.1' })
  return { app, port: bound }
}

const apps = new Set<Switchboard>()
const clients: SwitchboardClient[] = []
after(async () => {
  for (const c of clients) c.disconnect()
  for (const a of apps) await a.close({ graceful: 0 })
})

test('a client with only a WebSocket constructor survives a restart whose port refuses for a moment', async () => {
  assert.equal((globalThis as { EventSource?: unknown }).EventSource, undefined, 'no EventSource')
  const first = await startApp()
  apps.add(first.app)
  const c = new SwitchboardClient({
    url: `ws://127.0.0.1:${first.port}/switchboard`,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    minReconnectDelay: 40,
    maxReconnectDelay: 40,
    visibility: null,
  })
  clients.push(c)
  const states: StateEvent[] = []
  let attempts = 0
  c.on('state', (e) => states.push(e))
  c.on('reconnecting', () => attempts++)
  const got: unknown[] = []
  c.subscribe('chat:x', { onPublication: (p) => got.push(p.data) })
  c.connect()
  await waitFor(() => c.state === 'connected', 5000)
  await first.app.close({ graceful: 0 })
  apps.delete(first.app)
  // The port refuses: several attempts fail (two in a row used to fall back to SSE and stop).
  await waitFor(() => attempts >= 4, 5000, 'four refused attempts')
  assert.equal(c.state, 'connecting')
  const second = await startApp(first.port)
  apps.add(second.app)
  await waitFor(() => c.state === 'connected', 5000, 'reconnected')
  assert.equal(c.transport, 'websocket')
  assert.ok(!states.some((s) => s.state === 'disconnected'), 'never disconnected')
  assert.ok(!states.some((s) => s.code === 5), 'never "no transport"')
  await waitFor(() => c.getSubscription('chat:x')?.state === 'subscribed', 5000)
  await second.app.hub.publish('chat:x', 'after restart')
  await waitFor(() => got.length === 1, 5000)
  c.disconnect()
  await second.app.close({ graceful: 0 })
  apps.delete(second.app)
})
