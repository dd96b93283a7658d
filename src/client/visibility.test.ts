import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SwitchboardClient } from './client.ts'
import { FakeServer, waitFor } from './test-utils/fake-server.ts'
import type { VisibilitySource } from './visibility.ts'

class FakeVisibility implements VisibilitySource {
  isHidden = false
  listeners = new Set<(hidden: boolean) => void>()
  hidden(): boolean {
    return this.isHidden
  }
  subscribe(listener: (hidden: boolean) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
  set(hidden: boolean): void {
    this.isHidden = hidden
    for (const l of this.listeners) l(hidden)
  }
}

function setup(pingInterval: number, pongTimeout: number) {
  const server = new FakeServer()
  const visibility = new FakeVisibility()
  const client = new SwitchboardClient({
    url: 'ws://switchboard.test/sb',
    WebSocket: server.WebSocket,
    minReconnectDelay: 5,
    maxReconnectDelay: 10,
    pingInterval,
    pongTimeout,
    visibility,
  })
  return { server, client, visibility }
}

test('pings after a silent interval and drops a visible connection that does not answer', async () => {
  const { server, client } = setup(30, 20)
  client.connect()
  await waitFor(() => client.state === 'connected')
  await waitFor(() => server.commands.some((c) => c.type === 'ping'), 500, 'a ping')
  assert.equal(client.state, 'connected') // the ping was answered
  server.answer = false
  await waitFor(() => server.sockets.length === 2, 1000, 'a reconnect')
  assert.equal(server.sockets[0]?.closedBy?.code, 3004)
  client.disconnect()
})

test('a hidden tab is not disconnected when its pings go unanswered', async () => {
  const { server, client, visibility } = setup(20, 15)
  client.connect()
  await waitFor(() => client.state === 'connected')
  visibility.set(true)
  server.answer = false
  await waitFor(() => server.commands.filter((c) => c.type === 'ping').length >= 3, 1000, 'pings')
  await new Promise((r) => setTimeout(r, 50))
  assert.equal(client.state, 'connected')
  assert.equal(server.sockets.length, 1)
  client.disconnect()
})

test('becoming visible checks liveness at once', async () => {
  const { server, client, visibility } = setup(60_000, 30)
  client.connect()
  await waitFor(() => client.state === 'connected')
  visibility.set(true)
  const before = server.commands.filter((c) => c.type === 'ping').length
  visibility.set(false)
  await waitFor(
    () => server.commands.filter((c) => c.type === 'ping').length === before + 1,
    200,
    'an immediate ping',
  )
  // The same check, unanswered, drops the connection right away instead of in 60 s.
  visibility.set(true)
  server.answer = false
  visibility.set(false)
  await waitFor(() => server.sockets.length === 2, 500, 'a reconnect after the failed check')
  client.disconnect()
})

test('becoming visible while waiting to reconnect reconnects at once', async () => {
  const server = new FakeServer()
  const visibility = new FakeVisibility()
  const client = new SwitchboardClient({
    url: 'ws://switchboard.test/sb',
    WebSocket: server.WebSocket,
    minReconnectDelay: 60_000,
    maxReconnectDelay: 60_000,
    random: () => 0.99,
    visibility,
  })
  client.connect()
  await waitFor(() => client.state === 'connected')
  server.lastSocket.drop(1006, '')
  await new Promise((r) => setTimeout(r, 20))
  assert.equal(server.sockets.length, 1)
  visibility.set(true)
  visibility.set(false)
  await waitFor(() => client.state === 'connected', 500)
  client.disconnect()
})
