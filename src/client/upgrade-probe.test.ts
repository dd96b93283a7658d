import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { SwitchboardClient } from './client.ts'
import type { UpgradeEvent } from './client-events.ts'
import type { ClientOptions } from './options.ts'
import type { SubscribedContext } from './subscription.ts'
import { fakeClient } from './test-utils/fake-client.ts'
import { FakeServer, waitFor } from './test-utils/fake-server.ts'
import type { ProbeEvent } from './upgrade-probe.ts'

const clients: SwitchboardClient[] = []
after(() => {
  for (const c of clients) c.disconnect() // a failed test must not leave a client probing
})

function setup(options: Partial<ClientOptions> = {}, server = new FakeServer()) {
  const { client, states } = fakeClient({ upgradeProbeDelay: 20, ...options }, server)
  clients.push(client)
  const probes: ProbeEvent[] = []
  const upgrades: UpgradeEvent[] = []
  client.on('probe', (e) => probes.push(e))
  client.on('upgrade', (e) => upgrades.push(e))
  return { client, server, states, probes, upgrades }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Timers alive in this process (Node's own view), to prove the client leaves none behind. */
function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
}

describe('upgrade probe', () => {
  test('moves back to WebSocket after a fallback once a probe gets its connect reply', async () => {
    const { client, server, states, probes, upgrades } = setup()
    server.wsMode = 'refuse'
    client.on('fallback', () => {
      server.wsMode = 'accept' // the server came up right after the refused attempt
    })
    const got: number[] = []
    const subscribed: SubscribedContext[] = []
    client.subscribe('chat:a', {
      onPublication: (p) => got.push(p.offset),
      onSubscribed: (s) => subscribed.push(s),
    })
    client.connect()
    await waitFor(() => client.transport === 'sse' && subscribed.length === 1)
    server.publish('chat:a', 'over-sse')
    await waitFor(() => upgrades.length === 1, 2000, 'the upgrade')
    server.publishWhileAway('chat:a', 2) // while the client is between transports
    await waitFor(() => client.state === 'connected' && subscribed.length === 2)
    assert.equal(client.transport, 'websocket')
    assert.deepEqual(upgrades, [{ reason: 'websocket-probe-ok', probes: 1 }])
    assert.equal(probes.length, 1)
    assert.equal(probes[0]?.ok, true)
    // sockets: the refused attempt, the probe (closed cleanly by the client), the new connection
    assert.equal(server.sockets.length, 3)
    assert.deepEqual(server.sockets[1]?.closedBy, { code: 1000, reason: 'probe done' })
    assert.equal(server.sockets[1]?.readyState, 3)
    const upgrade = states.findIndex((s) => s.code === 6)
    assert.deepEqual(
      states.slice(upgrade).map((s) => [s.state, s.code, s.transport]),
      [
        ['connecting', 6, null],
        ['connected', 0, 'websocket'],
      ],
    )
    const resubscribe = server.commands.filter((c) => c.type === 'subscribe').at(-1)
    assert.deepEqual((resubscribe as { since?: unknown }).since, { offset: 1, epoch: 'e1' })
    await waitFor(() => got.length === 3)
    assert.deepEqual(got, [1, 2, 3])
    client.disconnect()
  })

  test('a probe a proxy cuts before the connect reply does not count', async () => {
    const { client, server, probes, upgrades } = setup()
    server.wsMode = 'refuse'
    client.on('fallback', () => {
      server.wsMode = 'cut'
    })
    const run = server.run.bind(server)
    server.run = (cmd, peer) => (cmd.type === 'connect' && peer !== null ? null : run(cmd, peer))
    client.connect()
    await waitFor(() => probes.length >= 2, 2000, 'two probes')
    assert.ok(probes.every((p) => !p.ok))
    assert.equal(upgrades.length, 0)
    assert.equal(client.transport, 'sse')
    assert.equal(client.state, 'connected')
    client.disconnect()
  })

  test('a refused probe doubles the ceiling of the next wait, up to maxUpgradeProbeDelay', async () => {
    const { client, server, probes } = setup({ upgradeProbeDelay: 4, maxUpgradeProbeDelay: 16 })
    server.wsMode = 'refuse'
    client.connect()
    await waitFor(() => probes.length >= 4, 2000, 'four probes')
    assert.deepEqual(
      probes.slice(0, 4).map((p) => [p.ok, p.attempt, p.retryCeiling]),
      [
        [false, 1, 8],
        [false, 2, 16],
        [false, 3, 16],
        [false, 4, 16],
      ],
    )
    assert.equal(client.transport, 'sse')
    // every probe socket is closed: none is left connecting or open
    await waitFor(() => server.sockets.every((s) => s.readyState === 3))
    client.disconnect()
  })

  test('waits at least the jittered share of the doubled ceiling between probes', async () => {
    const { client, server, probes } = setup({
      upgradeProbeDelay: 40,
      random: () => 0.9,
    })
    server.wsMode = 'refuse'
    const at: number[] = []
    client.on('probe', () => at.push(Date.now()))
    client.connect()
    await waitFor(() => probes.length >= 3, 3000, 'three probes')
    client.disconnect()
    // timers never fire early: the gaps are at least 0.9 · 80 and 0.9 · 160 ms
    assert.ok(at[1]! - at[0]! >= 72, `gap ${at[1]! - at[0]!} ms`)
    assert.ok(at[2]! - at[1]! >= 144, `gap ${at[2]! - at[1]!} ms`)
  })

  test('disconnect() stops a probe under way and closes its socket, leaving no timer', async () => {
    const before = timers()
    const { client, server } = setup({ random: () => 0 })
    server.wsMode = 'refuse'
    client.on('fallback', () => {
      server.wsMode = 'hang' // the probe socket stays connecting
    })
    client.connect()
    await waitFor(() => client.transport === 'sse' && server.sockets.length === 2, 2000, 'a probe')
    const probe = server.sockets[1]!
    assert.equal(probe.readyState, 0)
    client.disconnect()
    assert.deepEqual(probe.closedBy, { code: 1000, reason: 'probe stopped' })
    await sleep(60)
    assert.equal(server.sockets.length, 2, 'no probe after disconnect()')
    assert.equal(timers(), before)
  })

  test('a probe that gets no connect reply within timeout fails and its socket is closed', async () => {
    const { client, server, probes } = setup({ timeout: 40, random: () => 0 })
    server.wsMode = 'refuse'
    client.on('fallback', () => {
      server.wsMode = 'hang'
    })
    client.connect()
    await waitFor(() => probes.length === 1, 2000, 'a probe')
    assert.equal(probes[0]?.ok, false)
    assert.match(probes[0]?.reason ?? '', /no connect reply within 40 ms/)
    assert.deepEqual(server.sockets[1]?.closedBy, { code: 1000, reason: 'probe failed' })
    assert.equal(client.transport, 'sse')
    client.disconnect()
  })

  test('never probes when the transport is forced', async () => {
    const { client, server, probes } = setup({ transport: 'sse', random: () => 0 })
    client.subscribe('chat:a')
    client.connect()
    await waitFor(() => client.state === 'connected')
    await sleep(60)
    assert.equal(server.sockets.length, 0)
    assert.equal(probes.length, 0)
    client.disconnect()
  })

  test('does not probe after a fallback for lack of a WebSocket constructor', async () => {
    const g = globalThis as { WebSocket?: unknown }
    const saved = g.WebSocket
    g.WebSocket = undefined // Node >= 22 has a global one
    try {
      const { client, probes } = setup({ WebSocket: undefined, random: () => 0 })
      client.connect()
      await waitFor(() => client.state === 'connected')
      await sleep(40)
      assert.equal(client.transport, 'sse')
      assert.equal(probes.length, 0)
      client.disconnect()
    } finally {
      g.WebSocket = saved
    }
  })

  test('an rpc POSTed before the upgrade still resolves, and runs once', async () => {
    const { client, server, upgrades } = setup({ random: () => 0 })
    server.wsMode = 'refuse'
    client.on('fallback', () => {
      server.wsMode = 'hang'
    })
    client.connect()
    await waitFor(() => client.transport === 'sse' && server.sockets.length === 2, 2000, 'a probe')
    server.postDelay = 40
    const answer = client.rpc('echo', { n: 1 })
    await sleep(5) // the POST is in flight
    server.wsMode = 'accept'
    server.sockets[1]!.drop(1006, '') // the hanging probe fails; the next one will work
    await waitFor(() => upgrades.length === 1, 2000, 'the upgrade')
    assert.deepEqual(await answer, { method: 'echo', data: { n: 1 } })
    assert.equal(server.commands.filter((c) => c.type === 'rpc').length, 1)
    await waitFor(() => client.transport === 'websocket')
    client.disconnect()
  })

  test('a fallback after the upgrade probes again with a doubled ceiling', async () => {
    const { client, server, probes, upgrades } = setup({ random: () => 0 })
    server.wsMode = 'refuse'
    let fallbacks = 0
    client.on('fallback', () => {
      fallbacks++
      // the first probe succeeds, the connection it leads to is refused again
      server.wsMode = fallbacks === 1 ? 'accept' : 'refuse'
    })
    const run = server.run.bind(server)
    let connects = 0
    server.run = (cmd, peer) => {
      if (cmd.type === 'connect' && peer !== null && ++connects === 1) server.wsMode = 'refuse'
      return run(cmd, peer)
    }
    client.connect()
    await waitFor(() => upgrades.length === 1 && probes.length >= 2, 2000, 'a second probe')
    assert.equal(fallbacks, 2)
    assert.deepEqual(
      probes.slice(0, 2).map((p) => [p.ok, p.attempt, p.retryCeiling]),
      [
        [true, 1, null],
        [false, 2, 80],
      ],
    )
    assert.equal(client.transport, 'sse')
    client.disconnect()
  })

  test('rejects a maxUpgradeProbeDelay below upgradeProbeDelay, naming the option', () => {
    assert.throws(
      () =>
        new SwitchboardClient({
          url: 'ws://x/sb',
          upgradeProbeDelay: 1000,
          maxUpgradeProbeDelay: 10,
        }),
      /maxUpgradeProbeDelay must be >= upgradeProbeDelay/,
    )
    assert.throws(
      () => new SwitchboardClient({ url: 'ws://x/sb', upgradeProbeDelay: 0 }),
      /upgradeProbeDelay must be a positive number/,
    )
  })
})
