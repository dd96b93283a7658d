// The client's connection over WebSocket: transitions and their codes, reconnects with backoff,
// server disconnects and their codes, credential refresh, and a refused connect.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { ClientError } from './errors.ts'
import { fakeClient } from './test-utils/fake-client.ts'
import { FakeServer, waitFor } from './test-utils/fake-server.ts'

const setup = fakeClient

describe('connection', () => {
  test('connects over WebSocket with the JSON subprotocol and reports every transition with a code', async () => {
    const { client, server, states } = setup()
    client.connect()
    await waitFor(() => client.state === 'connected')
    assert.deepEqual(server.lastSocket.protocols, ['switchboard.v1.json'])
    assert.equal(server.commands[0]?.type, 'connect')
    client.disconnect()
    assert.deepEqual(
      states.map((s) => [s.state, s.code]),
      [
        ['connecting', 1],
        ['connected', 0],
        ['disconnected', 2],
      ],
    )
  })

  test('reconnects with backoff after the socket drops, carrying the close code', async () => {
    const { client, server, states } = setup()
    client.connect()
    await waitFor(() => client.state === 'connected')
    const dropped = Date.now()
    server.lastSocket.drop(1006, '')
    assert.equal(client.state, 'connecting')
    assert.equal(states.at(-1)?.code, 1006)
    await waitFor(() => client.state === 'connected')
    assert.equal(server.sockets.length, 2)
    assert.ok(Date.now() - dropped < 1000)
    client.disconnect()
  })

  test('keeps retrying while the server refuses, then connects when it is back', async () => {
    const { client, server } = setup({ transport: 'websocket' })
    server.wsMode = 'refuse'
    client.connect()
    await waitFor(() => server.sockets.length >= 4, 3000, 'four attempts')
    assert.equal(client.state, 'connecting')
    server.wsMode = 'accept'
    await waitFor(() => client.state === 'connected', 3000)
    client.disconnect()
  })

  test('a frame that is no server message, a malformed compact publication included, closes with 1002 and reconnects', async () => {
    for (const frame of ['["chat:a",-1,"x"]', '["chat:a",1]', '["chat:a",1,"x",[]]', '7']) {
      const { client, server, states } = setup()
      client.connect()
      await waitFor(() => client.state === 'connected')
      const socket = server.lastSocket
      socket.onmessage?.({ data: frame })
      assert.equal(socket.closedBy?.code, 1002, frame)
      assert.deepEqual([states.at(-1)?.state, states.at(-1)?.code], ['connecting', 1002], frame)
      await waitFor(() => client.state === 'connected')
      assert.equal(server.sockets.length, 2)
      client.disconnect()
    }
  })

  test('reconnects after a server disconnect push in 3000-3499', async () => {
    const { client, server, states } = setup()
    client.connect()
    await waitFor(() => client.state === 'connected')
    server.lastSocket.push({ type: 'disconnect', code: 3000, reason: 'shutdown', reconnect: true })
    assert.deepEqual([states.at(-1)?.state, states.at(-1)?.code], ['connecting', 3000])
    await waitFor(() => client.state === 'connected')
    client.disconnect()
  })

  test('does not reconnect after a close code in 3500-3999', async () => {
    const { client, server, states } = setup()
    const errors: ClientError[] = []
    client.on('error', (e) => errors.push(e))
    client.connect()
    await waitFor(() => client.state === 'connected')
    server.lastSocket.drop(3502, 'banned')
    assert.equal(client.state, 'disconnected')
    assert.deepEqual([states.at(-1)?.code, states.at(-1)?.reason], [3502, 'banned'])
    await new Promise((r) => setTimeout(r, 60))
    assert.equal(server.sockets.length, 1)
    assert.equal(errors.length, 1)
  })

  test('does not reconnect after a disconnect push that says reconnect: false', async () => {
    const { client, server } = setup()
    client.connect()
    await waitFor(() => client.state === 'connected')
    server.lastSocket.push({
      type: 'disconnect',
      code: 3500,
      reason: 'unauthorized',
      reconnect: false,
    })
    assert.equal(client.state, 'disconnected')
    await new Promise((r) => setTimeout(r, 60))
    assert.equal(server.sockets.length, 1)
  })

  test('waits at least the reconnect delay the server advertises', async () => {
    const { client, server } = setup()
    client.connect()
    await waitFor(() => client.state === 'connected')
    const at = Date.now()
    server.lastSocket.push({
      type: 'disconnect',
      code: 3000,
      reason: 'restart',
      reconnect: true,
      delay: 150,
    } as never)
    await waitFor(() => server.sockets.length === 2)
    assert.ok(Date.now() - at >= 140, `reconnected after ${Date.now() - at} ms`)
    client.disconnect()
  })

  test('refreshes the token before the credential expires', async () => {
    const server = new FakeServer()
    const run = server.run.bind(server)
    const tokens: string[] = []
    server.run = (cmd, peer) => {
      if (cmd.type === 'connect' || cmd.type === 'refresh') tokens.push(`${cmd.type}:${cmd.token}`)
      if (cmd.type === 'connect') {
        return { id: cmd.id, result: { client: 'c1', user: 'u', version: 1, ttl: 0.05 } }
      }
      if (cmd.type === 'refresh') return { id: cmd.id, result: { ttl: 60 } }
      return run(cmd, peer)
    }
    let n = 0
    const { client } = setup({ token: () => `token-${++n}` }, server)
    client.connect()
    await waitFor(() => tokens.length === 2, 1000, 'a refresh')
    assert.deepEqual(tokens, ['connect:token-1', 'refresh:token-2'])
    assert.equal(server.sockets.length, 1)
    client.disconnect()
  })

  test('an expired token at connect reconnects and asks the token function again', async () => {
    const server = new FakeServer()
    const run = server.run.bind(server)
    const tokens: unknown[] = []
    server.run = (cmd, peer) => {
      if (cmd.type === 'connect') {
        tokens.push(cmd.token)
        if (tokens.length === 1) {
          return { id: cmd.id, error: { code: 'SWB_ERR_AUTH_TOKEN_EXPIRED', message: 'expired' } }
        }
      }
      return run(cmd, peer)
    }
    let n = 0
    const { client } = setup({ token: () => `token-${++n}` }, server)
    client.connect()
    await waitFor(() => client.state === 'connected')
    assert.equal(server.sockets.length, 2)
    assert.deepEqual(tokens, ['token-1', 'token-2'])
    client.disconnect()
  })

  test('a refused connect stops the client and rejects the commands queued for it', async () => {
    const server = new FakeServer()
    const { client, states } = setup({}, server)
    client.connect()
    await waitFor(() => client.state === 'connected')
    server.wsMode = 'refuse'
    server.lastSocket.drop(1006, '')
    const queued = client.presence('chat:a')
    assert.equal(client.outboxSize, 1)
    const run = server.run.bind(server)
    server.run = (cmd, peer) =>
      cmd.type === 'connect'
        ? { id: cmd.id, error: { code: 'SWB_ERR_AUTH_UNAUTHORIZED', message: 'bad token' } }
        : run(cmd, peer)
    server.wsMode = 'accept'
    await assert.rejects(queued, { code: 'SWB_ERR_CLIENT_CLOSED' })
    assert.equal(client.state, 'disconnected')
    assert.equal(states.at(-1)?.code, 3500)
    const attempts = server.sockets.length
    await new Promise((r) => setTimeout(r, 60))
    assert.equal(server.sockets.length, attempts)
  })
})
