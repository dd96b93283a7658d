// The client on SSE against the scripted server when a stream is refused before it opens. The
// end-to-end cases against the real app are in test/e2e/client-sse-refusal.test.ts.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { ClientError } from './errors.ts'
import type { ClientOptions } from './options.ts'
import { fakeClient } from './test-utils/fake-client.ts'
import { waitFor } from './test-utils/fake-server.ts'

const body = (code: string, message: string) => JSON.stringify({ error: { code, message } })

function setup(options: Partial<ClientOptions> = {}) {
  return fakeClient({ url: 'http://switchboard.test/sb', transport: 'sse', ...options })
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('SSE stream refused before it opened', () => {
  test('probes once and fails only the channel the server names; the others stream on', async () => {
    const { client, server } = setup()
    server.streamAnswer = (channels) =>
      channels.includes('vip:x')
        ? { status: 403, body: body('SWB_ERR_CHANNEL_FORBIDDEN', 'No: channel "vip:x"') }
        : null
    const errors: ClientError[] = []
    const a = client.subscribe('chat:a')
    const x = client.subscribe('vip:x', { onError: (e) => errors.push(e) })
    client.connect()
    await waitFor(() => a.state === 'subscribed')
    assert.equal(client.state, 'connected')
    assert.equal(x.state, 'unsubscribed')
    assert.deepEqual(
      errors.map((e) => [e.code, e.message]),
      [['SWB_ERR_CHANNEL_FORBIDDEN', 'No: channel "vip:x"']],
    )
    assert.equal(server.probes.length, 1)
    assert.deepEqual(
      server.streams.map((s) => s.url.searchParams.getAll('channel')),
      [['chat:a', 'vip:x'], ['chat:a']],
    )
    client.disconnect()
  })

  test('a refusal naming no channel fails every subscription on the stream and connects without one', async () => {
    const { client, server } = setup()
    server.streamAnswer = () => ({
      status: 400,
      body: body('SWB_ERR_PROTOCOL_BAD_COMMAND', 'A stream needs 1 to 2 channel parameters'),
    })
    const codes: string[] = []
    for (const ch of ['a', 'b', 'c']) client.subscribe(ch, { onError: (e) => codes.push(e.code) })
    client.connect()
    await waitFor(() => client.state === 'connected')
    assert.deepEqual(codes, Array(3).fill('SWB_ERR_PROTOCOL_BAD_COMMAND'))
    assert.equal(server.streams.length, 1)
    assert.equal(server.probes.length, 1)
    assert.equal(client.getSubscription('b')?.state, 'unsubscribed')
    client.disconnect()
  })

  test('429 and 503 answers, coded or not, keep the reconnect with backoff and one probe per failed open', async () => {
    const { client, server } = setup()
    const answers = [
      { status: 503, body: 'busy' },
      { status: 429, body: body('SWB_ERR_HTTP', 'Too Many Requests') },
    ]
    let refused = 0
    server.streamAnswer = () =>
      refused < 2 * answers.length ? (answers[refused++ >> 1] ?? null) : null
    const errors: ClientError[] = []
    const a = client.subscribe('chat:a', { onError: (e) => errors.push(e) })
    client.connect()
    await waitFor(() => a.state === 'subscribed')
    assert.equal(errors.length, 0)
    assert.equal(server.streams.length, 3)
    assert.equal(server.probes.length, 2)
    client.disconnect()
  })

  test('401 without a token to renew stops the client with 3500 after one stream', async () => {
    const { client, server, states } = setup()
    server.streamAnswer = () => ({
      status: 401,
      body: body('SWB_ERR_AUTH_UNAUTHORIZED', 'A token is required'),
    })
    const errors: ClientError[] = []
    client.on('error', (e) => errors.push(e))
    client.subscribe('chat:a')
    client.connect()
    await waitFor(() => client.state === 'disconnected')
    assert.deepEqual(
      [states.at(-1)?.code, states.at(-1)?.reason],
      [3500, 'SWB_ERR_AUTH_UNAUTHORIZED: A token is required'],
    )
    assert.equal(errors.at(-1)?.code, 'SWB_ERR_CLIENT_CLOSED')
    await pause(50)
    assert.equal(server.streams.length, 1)
  })

  test('401 with a ticket function asks it once more, then stops on the second 401', async () => {
    let tickets = 0
    const { client, server, states } = setup({ streamTicket: () => `t${++tickets}` })
    server.streamAnswer = () => ({
      status: 401,
      body: body('SWB_ERR_AUTH_UNAUTHORIZED', 'The stream ticket is invalid'),
    })
    client.subscribe('chat:a')
    client.connect()
    await waitFor(() => client.state === 'disconnected')
    assert.equal(states.at(-1)?.code, 3500)
    await pause(50)
    assert.equal(tickets, 2)
    assert.deepEqual(
      server.streams.map((s) => s.url.searchParams.get('ticket')),
      ['t1', 't2'],
    )
  })

  test('with no channel, the ping carries the token and a 401 asks the token function once more, then stops', async () => {
    let tokens = 0
    const { client, server, states } = setup({ token: () => `k${++tokens}` })
    server.postAnswer = () => ({
      status: 401,
      body: body('SWB_ERR_AUTH_UNAUTHORIZED', 'The token is invalid'),
    })
    client.connect()
    await waitFor(() => client.state === 'disconnected')
    assert.deepEqual(
      [states.at(-1)?.code, states.at(-1)?.reason],
      [3500, 'SWB_ERR_AUTH_UNAUTHORIZED: The token is invalid'],
    )
    await pause(50)
    assert.equal(tokens, 2)
    assert.deepEqual(server.postAuth, ['Bearer k1', 'Bearer k2'])
    assert.equal(
      states.some((e) => e.state === 'connected'),
      false,
      'never called itself connected',
    )
  })

  test('with no channel, a ping the server accepts connects the client', async () => {
    const { client, server } = setup({ token: 'k' })
    client.connect()
    await waitFor(() => client.state === 'connected')
    assert.deepEqual(server.postAuth, ['Bearer k'])
    client.disconnect()
  })

  test('an error listener that subscribes again waits for the backoff instead of looping', async () => {
    const { client, server } = setup({
      minReconnectDelay: 40,
      maxReconnectDelay: 40,
      random: () => 0.999, // each wait is the whole 40 ms ceiling
    })
    server.streamAnswer = () => ({ status: 403, body: body('SWB_ERR_CHANNEL_FORBIDDEN', 'No') })
    let errors = 0
    const x = client.subscribe('vip:x', {
      onError: () => {
        errors++
        x.subscribe()
      },
    })
    client.connect()
    await pause(200)
    client.disconnect()
    assert.ok(errors >= 1)
    assert.ok(server.streams.length <= 6, `${server.streams.length} streams in 200 ms`)
  })

  test('a stream that opened and then broke reconnects without a probe', async () => {
    const { client, server } = setup()
    const a = client.subscribe('chat:a')
    client.connect()
    await waitFor(() => a.state === 'subscribed')
    server.streams[0]?.drop()
    await waitFor(() => server.streams.length === 2 && a.state === 'subscribed')
    assert.equal(server.probes.length, 0)
    client.disconnect()
  })

  test('disconnect() during a probe drops its answer', async () => {
    const { client, server, states } = setup()
    server.postDelay = 30 // the fake fetch (and so the probe) answers after 30 ms
    server.streamAnswer = () => ({ status: 403, body: body('SWB_ERR_CHANNEL_FORBIDDEN', 'No') })
    const errors: ClientError[] = []
    client.subscribe('vip:x', { onError: (e) => errors.push(e) })
    client.connect()
    await waitFor(() => server.streams.length === 1 && server.streams[0]?.readyState === 2)
    client.disconnect()
    await pause(60)
    assert.equal(errors.length, 0)
    assert.equal(states.at(-1)?.state, 'disconnected')
    assert.equal(server.streams.length, 1)
  })
})
