// Server messages that pass readServerMessage but that the client cannot apply (found by the
// client-push fuzz target): they close the socket with 1002, as an unreadable frame does, instead
// of throwing out of `onmessage` (with Node's `ws`, an uncaught exception).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fakeClient } from './test-utils/fake-client.ts'
import { waitFor } from './test-utils/fake-server.ts'

test('a subscribe push whose publications are not a list closes with 1002 and reconnects, never throws', async () => {
  const { client, server } = fakeClient()
  client.subscribe('a')
  client.connect()
  await waitFor(() => client.state === 'connected')
  const socket = server.lastSocket
  const frame = '{"type":"subscribe","channel":"a","offset":1,"epoch":"e","publications":146}'
  assert.doesNotThrow(() => socket.onmessage?.({ data: frame }))
  assert.equal(socket.closedBy?.code, 1002)
  await waitFor(() => client.state === 'connected' && server.sockets.length === 2)
  client.disconnect()
})
