// A client with a WebSocket constructor and no EventSource (Node given only `ws`, as the docs
// show) must never give up while its one transport exists: a failed WebSocket is retried with
// backoff. State code 5 (no transport) is only for a client that has no transport at all.
import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { StateCode } from './client-events.ts'
import { fakeClient } from './test-utils/fake-client.ts'
import { waitFor } from './test-utils/fake-server.ts'

// Node has no global EventSource without a flag, nor (before 22) a global WebSocket; hide them
// anyway so these tests mean the same on every Node version.
const saved = {
  EventSource: (globalThis as { EventSource?: unknown }).EventSource,
  WebSocket: (globalThis as { WebSocket?: unknown }).WebSocket,
}
beforeEach(() => {
  delete (globalThis as { EventSource?: unknown }).EventSource
  delete (globalThis as { WebSocket?: unknown }).WebSocket
})
afterEach(() => {
  if (saved.EventSource !== undefined) Object.assign(globalThis, { EventSource: saved.EventSource })
  if (saved.WebSocket !== undefined) Object.assign(globalThis, { WebSocket: saved.WebSocket })
})

describe('a client with only a WebSocket constructor', () => {
  test('retries a WebSocket refused after a restart with backoff, never stopping with code 5', async () => {
    const { client, server, states } = fakeClient({
      EventSource: undefined,
      minReconnectDelay: 20,
      maxReconnectDelay: 80,
      random: () => 1,
    })
    const fallbacks: unknown[] = []
    const waits: number[] = []
    client.on('fallback', (e) => fallbacks.push(e))
    client.on('reconnecting', (e) => waits.push(e.delay))
    client.connect()
    await waitFor(() => client.state === 'connected')
    server.wsMode = 'refuse' // the restarting server's port refuses for a moment
    server.lastSocket.drop(1006, '')
    await waitFor(() => server.sockets.length >= 6, 3000, 'five refused attempts')
    assert.equal(client.state, 'connecting')
    assert.deepEqual(fallbacks, [])
    assert.ok(!states.some((s) => s.state === 'disconnected'), 'never disconnected')
    assert.ok(!states.some((s) => s.code === StateCode.NO_TRANSPORT), 'never code 5')
    // The backoff grows (full jitter at its ceiling here): 20, 40, 80, 80 ms…
    assert.deepEqual(waits.slice(0, 4), [20, 40, 80, 80])
    server.wsMode = 'accept'
    await waitFor(() => client.state === 'connected', 3000, 'back on WebSocket')
    assert.equal(client.transport, 'websocket')
    client.disconnect()
  })

  test('retries a WebSocket that never worked, or that a proxy cuts, the same way', async () => {
    for (const mode of ['refuse', 'cut'] as const) {
      const { client, server, states } = fakeClient({ EventSource: undefined })
      server.wsMode = mode
      client.connect()
      await waitFor(() => server.sockets.length >= 4, 3000, `four ${mode} attempts`)
      assert.equal(client.state, 'connecting', mode)
      assert.ok(!states.some((s) => s.code === StateCode.NO_TRANSPORT), mode)
      server.wsMode = 'accept'
      await waitFor(() => client.state === 'connected', 3000, mode)
      client.disconnect()
    }
  })

  test('code 5 is for a client with no transport at all', async () => {
    const { client, states } = fakeClient({ WebSocket: undefined, EventSource: undefined })
    client.connect()
    assert.equal(client.state, 'disconnected')
    assert.equal(states.at(-1)?.code, StateCode.NO_TRANSPORT)
  })

  test('transport: sse without an EventSource stops with code 5', async () => {
    const { client, states } = fakeClient({ transport: 'sse', EventSource: undefined })
    client.connect()
    await waitFor(() => client.state === 'disconnected')
    assert.equal(states.at(-1)?.code, StateCode.NO_TRANSPORT)
  })
})
