import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fakeClient } from './test-utils/fake-client.ts'
import { waitFor } from './test-utils/fake-server.ts'

test('over SSE, a subscription made while the stream is opening is added to the stream once it opens', async () => {
  const { client, server } = fakeClient({ transport: 'sse' })
  client.connect() // the stream's channel list is fixed now: none
  const got: unknown[] = []
  client.subscribe('chat:a', { onPublication: (p) => got.push(p.data) })
  await waitFor(() => client.state === 'connected')
  await waitFor(() => client.getSubscription('chat:a')?.state === 'subscribed', 2000, 'subscribed')
  assert.deepEqual(server.streams.at(-1)!.url.searchParams.getAll('channel'), ['chat:a'])
  server.publish('chat:a', 'x')
  assert.deepEqual(got, ['x'])
  client.disconnect()
})

test('over SSE, a channel unsubscribed while the stream is opening is dropped from the stream once it opens', async () => {
  const { client, server } = fakeClient({ transport: 'sse' })
  client.subscribe('chat:a')
  client.subscribe('chat:b')
  client.connect() // the stream will carry chat:a and chat:b
  client.removeSubscription('chat:b')
  await waitFor(() => client.state === 'connected')
  await waitFor(
    () => server.streams.at(-1)!.url.searchParams.getAll('channel').join() === 'chat:a',
    2000,
    'a stream without chat:b',
  )
  client.disconnect()
})
