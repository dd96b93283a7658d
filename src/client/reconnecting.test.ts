import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ReconnectingEvent } from './client-events.ts'
import { fakeClient } from './test-utils/fake-client.ts'
import { waitFor } from './test-utils/fake-server.ts'

test('every scheduled reconnect is announced with its delay and attempt, and the state event fires only for the first', async () => {
  // random() = 1 makes each delay the backoff ceiling: 5, 10, 20, 20 ms.
  const { client, server, states } = fakeClient({
    transport: 'websocket',
    minReconnectDelay: 5,
    maxReconnectDelay: 20,
    random: () => 0.999_999,
  })
  const retries: ReconnectingEvent[] = []
  client.on('reconnecting', (e) => retries.push(e))
  client.connect()
  await waitFor(() => client.state === 'connected')
  server.wsMode = 'refuse'
  server.lastSocket.drop(1006, 'gone')
  await waitFor(() => retries.length >= 4, 3000, 'four scheduled retries')
  assert.deepEqual(
    retries.slice(0, 4).map((r) => [r.attempt, r.delay]),
    [
      [1, 4],
      [2, 9],
      [3, 19],
      [4, 19],
    ],
  )
  assert.equal(retries[0]!.code, 1006)
  assert.equal(
    states.filter((s) => s.state === 'connecting' && s.previous === 'connected').length,
    1,
  )
  server.wsMode = 'accept'
  await waitFor(() => client.state === 'connected', 3000)
  const count = retries.length
  client.disconnect()
  assert.equal(retries.length, count, 'disconnect() schedules no retry')
})
