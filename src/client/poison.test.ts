// Poison commands: a command the server refuses by closing the connection (1009 too big from the
// WebSocket layer, 3503 too big from the hub, 3501 unreadable) is rejected to its caller with a
// coded error and never resent; the client reconnects as usual, with its backoff.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { ClientCommand } from '../protocol/messages.ts'
import type { ClientError } from './errors.ts'
import { fakeClient } from './test-utils/fake-client.ts'
import { waitFor } from './test-utils/fake-server.ts'

function isBad(cmd: ClientCommand): boolean {
  return cmd.type === 'publish' && (cmd.data as { bad?: boolean } | null)?.bad === true
}

async function settle<T>(p: Promise<T>): Promise<T | ClientError> {
  return p.catch((e: ClientError) => e)
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('poison commands', () => {
  for (const [code, push, expected] of [
    [1009, false, 'SWB_ERR_CLIENT_TOO_LARGE'],
    [3503, true, 'SWB_ERR_CLIENT_TOO_LARGE'],
    [3501, true, 'SWB_ERR_CLIENT_REFUSED'],
  ] as const) {
    test(`a publish refused with close ${code} rejects with ${expected}, is never resent, and the client reconnects`, async () => {
      const { client, server } = fakeClient()
      server.refuseCommand = (cmd) => (isBad(cmd) ? { code, reason: 'refused', push } : null)
      const waits: number[] = []
      client.on('reconnecting', (e) => waits.push(e.delay))
      client.connect()
      await waitFor(() => client.state === 'connected')
      const result = await settle(client.publish('chat:a', { bad: true }))
      assert.equal((result as ClientError).code, expected)
      await waitFor(() => client.state === 'connected', 2000, 'reconnected')
      await pause(100) // room for a resend loop to show itself
      assert.equal(server.refused.length, 1)
      assert.equal(server.sockets.length, 2)
      assert.equal(waits.length, 1) // one reconnect, scheduled through the backoff
      assert.equal(client.outboxSize, 0)
      const ok = await client.publish('chat:a', { bad: false })
      assert.equal(ok.offset, 1)
      client.disconnect()
    })
  }

  test('a size refusal with several commands in flight rejects the largest; the others are applied once', async () => {
    const { client, server } = fakeClient()
    server.refuseCommand = (cmd) => (isBad(cmd) ? { code: 1009, reason: 'too big' } : null)
    // Queued while offline, then flushed together: the small ones ride with the big one.
    const small1 = settle(client.publish('chat:a', { n: 1 }))
    const big = settle(client.publish('chat:a', { bad: true, pad: 'x'.repeat(5000) }))
    const small2 = settle(client.publish('chat:a', { n: 2 }))
    client.connect()
    assert.equal(((await big) as ClientError).code, 'SWB_ERR_CLIENT_TOO_LARGE')
    const results = await Promise.all([small1, small2])
    assert.deepEqual(
      results.map((r) => (r as { offset: number }).offset),
      [1, 2],
    )
    assert.equal(server.refused.length, 1)
    assert.deepEqual(
      server.channel('chat:a').pubs.map((p) => p.data),
      [{ n: 1 }, { n: 2 }],
    )
    client.disconnect()
  })

  test('a 3501 that leaves several commands in doubt sends them again one at a time until the refusal names one', async () => {
    const { client, server } = fakeClient()
    server.refuseCommand = (cmd) => (isBad(cmd) ? { code: 3501, reason: 'bad', push: true } : null)
    const a = settle(client.publish('chat:a', { n: 1 }))
    const bad = settle(client.publish('chat:a', { bad: true }))
    const c = settle(client.publish('chat:a', { n: 3 }))
    const d = settle(client.rpc('echo', 'during'))
    client.connect()
    assert.equal(((await bad) as ClientError).code, 'SWB_ERR_CLIENT_REFUSED')
    const [ra, rc] = await Promise.all([a, c])
    assert.equal((ra as { offset: number }).offset, 1)
    assert.equal((rc as { offset: number }).offset, 2)
    // An rpc in flight when the connection dropped is never resent (it may have run).
    const rd = await d
    assert.ok(
      (rd as ClientError).code === 'SWB_ERR_CLIENT_DISCONNECTED' ||
        (rd as { data: unknown }).data !== undefined,
    )
    assert.equal(server.refused.length, 2) // once in a crowd, once alone: then it is named
    await waitFor(() => client.state === 'connected')
    await pause(50)
    assert.equal(server.sockets.length, 3)
    // Isolation is over: commands flow in parallel again.
    const more = await Promise.all([
      client.publish('chat:a', { n: 4 }),
      client.publish('chat:a', { n: 5 }),
    ])
    assert.deepEqual(
      more.map((r) => r.offset),
      [3, 4],
    )
    client.disconnect()
  })

  test('a close with 1009 and no command in flight reconnects and rejects nothing', async () => {
    const { client, server, states } = fakeClient()
    client.connect()
    await waitFor(() => client.state === 'connected')
    server.lastSocket.drop(1009, 'too big')
    await waitFor(() => client.state === 'connected' && server.sockets.length === 2)
    assert.ok(states.some((s) => s.code === 1009))
    client.disconnect()
  })

  test('a 3501 with no application command to blame still stops the client, as the code range says', async () => {
    const { client, server } = fakeClient()
    client.connect()
    await waitFor(() => client.state === 'connected')
    server.lastSocket.push({ type: 'disconnect', code: 3501, reason: 'bad', reconnect: false })
    await waitFor(() => client.state === 'disconnected')
    await pause(50)
    assert.equal(server.sockets.length, 1)
  })
})
