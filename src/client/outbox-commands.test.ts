// Commands: the outbox while offline (ordered, bounded, replayed once with its idempotency
// key), rpc replies, timeouts and disconnects, coded reply errors, presence and history.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { ClientError } from './errors.ts'
import { fakeClient } from './test-utils/fake-client.ts'
import { FakeServer, waitFor } from './test-utils/fake-server.ts'

const setup = fakeClient

describe('outbox and commands', () => {
  test('publishes issued while disconnected are sent once after connecting, in order', async () => {
    const { client, server } = setup()
    const results = [client.publish('chat:a', 'one'), client.publish('chat:a', 'two')]
    assert.equal(client.outboxSize, 2)
    client.connect()
    const [a, b] = await Promise.all(results)
    assert.deepEqual([a?.offset, b?.offset], [1, 2])
    assert.deepEqual(
      server.channel('chat:a').pubs.map((p) => p.data),
      ['one', 'two'],
    )
    client.disconnect()
  })

  test('a publish lost with its connection is replayed with the same idempotency key and applied once', async () => {
    const server = new FakeServer()
    const { client } = setup({}, server)
    client.connect()
    await waitFor(() => client.state === 'connected')
    // The server applies the publish, but the connection dies before the reply is written.
    const run = server.run.bind(server)
    let cut = true
    server.run = (cmd, peer) => {
      const reply = run(cmd, peer)
      if (cmd.type === 'publish' && cut) {
        cut = false
        ;(peer as { drop(c: number, r: string): void }).drop(1006, '')
        return null
      }
      return reply
    }
    const result = await client.publish('chat:a', 'once')
    const publishes = server.commands.filter((c) => c.type === 'publish')
    assert.equal(publishes.length, 2)
    const keys = publishes.map((c) => (c as { idempotencyKey?: string }).idempotencyKey)
    assert.ok(keys[0] !== undefined && keys[0] === keys[1])
    assert.equal(result.duplicate, true)
    assert.deepEqual(
      server.channel('chat:a').pubs.map((p) => p.data),
      ['once'],
    )
    client.disconnect()
  })

  test('the outbox is bounded and refuses with a coded error when full', async () => {
    const { client } = setup({ outboxSize: 2 })
    const a = client.publish('chat:a', 1)
    const b = client.publish('chat:a', 2)
    await assert.rejects(client.publish('chat:a', 3), { code: 'SWB_ERR_CLIENT_OUTBOX_FULL' })
    assert.equal(client.outboxSize, 2)
    void a.catch(() => {})
    void b.catch(() => {})
  })

  test('rpc resolves with the reply data', async () => {
    const { client } = setup()
    client.connect()
    assert.deepEqual(await client.rpc('echo', { x: 1 }), { method: 'echo', data: { x: 1 } })
    client.disconnect()
  })

  test('rpc rejects with SWB_ERR_CLIENT_TIMEOUT when no reply comes in time', async () => {
    const { client, server } = setup()
    client.connect()
    await waitFor(() => client.state === 'connected')
    server.answer = false
    const at = Date.now()
    await assert.rejects(client.rpc('slow', null, { timeout: 40 }), (e: ClientError) => {
      assert.equal(e.code, 'SWB_ERR_CLIENT_TIMEOUT')
      assert.equal(e.temporary, true)
      return true
    })
    assert.ok(Date.now() - at >= 35)
    client.disconnect()
  })

  test('rpc timeout counts time spent queued while offline', async () => {
    const { client } = setup()
    await assert.rejects(client.rpc('x', null, { timeout: 20 }), { code: 'SWB_ERR_CLIENT_TIMEOUT' })
    assert.equal(client.outboxSize, 0)
  })

  test('an rpc in flight when the connection drops rejects instead of running twice', async () => {
    const { client, server } = setup()
    client.connect()
    await waitFor(() => client.state === 'connected')
    server.answer = false
    const p = client.rpc('charge', { amount: 5 })
    await waitFor(() => server.commands.some((c) => c.type === 'rpc'))
    server.lastSocket.drop(1006, '')
    await assert.rejects(p, { code: 'SWB_ERR_CLIENT_DISCONNECTED' })
    server.answer = true
    await waitFor(() => client.state === 'connected')
    assert.equal(server.commands.filter((c) => c.type === 'rpc').length, 1)
    client.disconnect()
  })

  test('reply errors reject with the server code', async () => {
    const server = new FakeServer()
    const run = server.run.bind(server)
    server.run = (cmd, peer) =>
      cmd.type === 'rpc'
        ? { id: cmd.id, error: { code: 'SWB_ERR_RPC_NOT_FOUND', message: 'no such method' } }
        : run(cmd, peer)
    const { client } = setup({}, server)
    client.connect()
    await assert.rejects(client.rpc('nope'), { code: 'SWB_ERR_RPC_NOT_FOUND' })
    client.disconnect()
  })

  test('presence and history go through the same command path', async () => {
    const { client, server } = setup()
    server.publishWhileAway('chat:a', 2)
    client.connect()
    const [presence, history] = await Promise.all([
      client.presence('chat:a'),
      client.history('chat:a'),
    ])
    assert.equal(presence.count, 0)
    assert.deepEqual(
      history.publications.map((p) => p.offset),
      [1, 2],
    )
    client.disconnect()
  })
})
