// Poison commands against the real server: a 100 KB publish over WebSocket is refused by closing
// the connection (1009 from the WebSocket layer; 3503 from the hub when only its command limit
// is lower). The SDK rejects that publish with a coded error, never resends it, and reconnects
// once, with backoff: the server sees two connections, not a loop.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { WebSocket } from 'ws'
import type { ChannelsOptions } from '../../src/channels.ts'
import {
  type ClientError,
  type StateEvent,
  SwitchboardClient,
  type WebSocketConstructor,
} from '../../src/client/index.ts'
import { Switchboard } from '../../src/index.ts'
import { waitFor } from '../../src/test-utils/wait.ts'

const apps = new Set<Switchboard>()
const clients: SwitchboardClient[] = []
after(async () => {
  for (const c of clients) c.disconnect()
  for (const a of apps) await a.close({ graceful: 0 })
})

async function scenario(options: ChannelsOptions, expectedClose: number): Promise<void> {
  const app = new Switchboard({ logger: false })
  apps.add(app)
  app.channels.configure(options)
  app.channels.namespace('chat', { historySize: 100, clientPublish: true })
  const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
  let connections = 0
  app.server?.on('connection', () => connections++)
  const c = new SwitchboardClient({
    url: `ws://127.0.0.1:${port}/switchboard`,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    transport: 'websocket',
    minReconnectDelay: 50,
    maxReconnectDelay: 50,
    visibility: null,
  })
  clients.push(c)
  const states: StateEvent[] = []
  c.on('state', (e) => states.push(e))
  c.connect()
  await waitFor(() => c.state === 'connected', 5000)
  const error = await c.publish('chat:big', { text: 'x'.repeat(100_000) }).then(
    () => assert.fail('a 100 KB publish must be refused'),
    (e: ClientError) => e,
  )
  assert.equal(error.code, 'SWB_ERR_CLIENT_TOO_LARGE')
  assert.ok(
    states.some((s) => s.code === expectedClose),
    `closed with ${expectedClose}`,
  )
  await waitFor(() => c.state === 'connected', 5000, 'reconnected')
  // Time for a dozen reconnects at 50 ms, had the publish been resent from the outbox.
  await new Promise((r) => setTimeout(r, 700))
  assert.equal(connections, 2, 'the first connection and one reconnect')
  assert.equal(c.state, 'connected')
  assert.equal(c.outboxSize, 0)
  const ok = await c.publish('chat:big', { text: 'small' })
  assert.equal(ok.offset, 1) // the refused publish was never stored
  c.disconnect()
  await app.close({ graceful: 0 })
  apps.delete(app)
}

test('a 100 KB publish over WebSocket (1009) rejects with SWB_ERR_CLIENT_TOO_LARGE; the client reconnects once and never resends it', async () => {
  await scenario({}, 1009)
})

test('the same publish refused by the hub’s command limit (3503) rejects the same way and the client reconnects', async () => {
  await scenario({ maxPayload: 1_000_000, maxCommandBytes: 65_536 }, 3503)
})
