// A node dies mid-stream. Three Switchboard processes share one redis-server through
// RedisBroker; 300 client-SDK clients in this process (half WebSocket, half SSE) reach them
// through a round-robin TCP balancer. One node, never killed, publishes 50 rounds a second, each
// round once to a channel whose history outlasts the outage (`big:feed`, 1000 kept) and once to
// one whose history cannot (`small:feed`, 5 kept). Another node is killed with SIGKILL; its
// clients reconnect through the balancer to the survivors and resubscribe with `since`. Once
// publishing has stopped and every client has caught up, each client's receptions are counted
// against what was published: lost, duplicated, out of order, and holes no gap signal names.
import assert from 'node:assert/strict'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { EventSource } from 'eventsource'
import { WebSocket } from 'ws'
import {
  type EventSourceConstructor,
  SwitchboardClient,
  type WebSocketConstructor,
} from '../../src/client/index.ts'
import { waitFor } from '../../src/test-utils/wait.ts'
import { RedisServer, redisSkipReason } from '../support/redis.ts'
import { Balancer } from './support/balancer.ts'
import { NodeProcess } from './support/node-process.ts'
import { type Received, type Tally, tally } from './support/tally.ts'

const skip = redisSkipReason()

const CLIENTS = 300
const RATE = 50 // rounds a second; a round publishes once to each channel
const COUNT = 250 // rounds: 5 s of publishing
const KILL_AFTER = 75 // rounds published before the kill
const CHANNELS = ['big:feed', 'small:feed'] as const
type Channel = (typeof CHANNELS)[number]

/** One client and everything it saw. */
interface Probe {
  readonly id: number
  readonly transport: 'websocket' | 'sse'
  readonly client: SwitchboardClient
  /** Times its connection was lost after it had been connected. */
  drops: number
  readonly channels: Record<Channel, Received>
}

interface Row {
  readonly probe: Probe
  readonly t: Tally
}

function startProbe(id: number, url: string): Probe {
  const transport = id % 2 === 0 ? 'websocket' : 'sse'
  const client = new SwitchboardClient({
    url,
    transport,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    EventSource: EventSource as unknown as EventSourceConstructor,
    // A reconnect waits 300-600 ms (the defaults draw from 0-500 ms): at 50 publications a
    // second every client of the dead node then misses more than the five `small:feed` keeps,
    // so its recovery there must fail, while `big:feed` must recover all of it.
    minReconnectDelay: 600,
    maxReconnectDelay: 2_000,
    random: () => 0.5 + Math.random() / 2,
    visibility: null,
  })
  const probe: Probe = {
    id,
    transport,
    client,
    drops: 0,
    channels: {
      'big:feed': { publications: [], gaps: [], unrecovered: 0 },
      'small:feed': { publications: [], gaps: [], unrecovered: 0 },
    },
  }
  client.on('state', (e) => {
    if (e.previous === 'connected') probe.drops++
  })
  for (const channel of CHANNELS) {
    const r = probe.channels[channel]
    client.subscribe(channel, {
      onPublication: (p) => r.publications.push(p as Received['publications'][number]),
      onGap: (g) => r.gaps.push(g),
      onSubscribed: (s) => {
        if (s.recovered === false) r.unrecovered++
      },
    })
  }
  client.connect()
  return probe
}

function tallies(probes: Probe[], channel: Channel): Row[] {
  return probes.map((probe) => ({ probe, t: tally(probe.channels[channel], COUNT) }))
}

function total(rows: Row[], f: (t: Tally) => number): number {
  return rows.reduce((sum, r) => sum + f(r.t), 0)
}

/** The worst clients by `score`, one a line, for assertion messages. */
function worst(rows: Row[], score: (t: Tally) => number): string {
  return rows
    .filter((r) => score(r.t) > 0)
    .sort((a, b) => score(b.t) - score(a.t))
    .slice(0, 8)
    .map((r) => `#${r.probe.id} ${r.probe.transport} drops=${r.probe.drops} ${JSON.stringify(r.t)}`)
    .join('\n')
}

const faults = (t: Tally) => t.lost + t.duplicated + t.outOfOrder + t.mismatched

interface PumpStatus {
  published: number
  done: boolean
  error: string | null
}

async function pumpStatus(node: NodeProcess): Promise<PumpStatus> {
  return (await (await fetch(`${node.url}/pump`)).json()) as PumpStatus
}

describe('a Switchboard node killed with SIGKILL while another node publishes to 300 clients', {
  skip,
  timeout: 60_000,
}, () => {
  let redis: RedisServer | undefined
  const nodes: NodeProcess[] = []
  let balancer: Balancer | undefined
  const probes: Probe[] = []
  /** Connections open to each node just before the kill and once settled (by node index). */
  let openBefore: number[] = []
  let openAfter: number[] = []
  /** Empty when every client caught up, else who did not. */
  let behind = ''
  const lag = monitorEventLoopDelay({ resolution: 10 })

  before(async () => {
    lag.enable()
    redis = await RedisServer.start()
    nodes.push(...(await Promise.all([0, 1, 2].map(() => NodeProcess.start(redis!.url)))))
    const [publisher, victim] = nodes as [NodeProcess, NodeProcess]
    balancer = await Balancer.start(nodes.map((n) => n.port))
    const url = `ws://127.0.0.1:${balancer.port}/switchboard`
    for (let i = 0; i < CLIENTS; i++) probes.push(startProbe(i, url))
    await waitFor(
      () =>
        probes.every((p) =>
          CHANNELS.every((c) => p.client.getSubscription(c)?.state === 'subscribed'),
        ),
      20_000,
      'every client subscribed to both channels',
    )

    const res = await fetch(`${publisher.url}/pump`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channels: CHANNELS, rate: RATE, count: COUNT }),
    })
    assert.equal(res.status, 200, await res.text())
    while ((await pumpStatus(publisher)).published < KILL_AFTER) await sleep(20)
    openBefore = balancer.backends.map((b) => b.open)
    await victim.kill()
    let status = await pumpStatus(publisher)
    while (!status.done) {
      await sleep(100)
      status = await pumpStatus(publisher)
    }
    assert.equal(status.error, null, `the publisher failed: ${status.error}`)

    // Settled: every subscription stands at the last publication, received or named by a gap.
    const atTop = (p: Probe, c: Channel) => p.client.getSubscription(c)?.position?.offset === COUNT
    try {
      await waitFor(() => probes.every((p) => CHANNELS.every((c) => atTop(p, c))), 15_000)
    } catch {
      const late = probes.flatMap((p) =>
        CHANNELS.filter((c) => !atTop(p, c)).map(
          (c) =>
            `#${p.id} ${p.transport} ${c} at ${p.client.getSubscription(c)?.position?.offset} ` +
            `(client ${p.client.state}, subscription ${p.client.getSubscription(c)?.state})`,
        ),
      )
      const stats = await Promise.all(
        nodes
          .filter((n) => n.running)
          .map(async (n) => {
            const r = await fetch(`${n.url}/stats?channels=${CHANNELS.join(',')}`)
            return `node :${n.port} ${await r.text()}`
          }),
      )
      behind = [
        `${late.length} subscriptions behind after 15 s:`,
        ...late.slice(0, 10),
        ...stats,
      ].join('\n')
    }
    openAfter = balancer.backends.map((b) => b.open)
    lag.disable()
  })

  after(async () => {
    lag.disable()
    for (const p of probes) p.client.disconnect()
    await balancer?.close()
    await Promise.all(nodes.map((n) => n.kill()))
    await redis?.stop()
  })

  test('spreads the clients over three nodes, and the killed node’s clients all reconnect to the two survivors', (t) => {
    const dropped = probes.filter((p) => p.drops > 0)
    const ws = dropped.filter((p) => p.transport === 'websocket').length
    t.diagnostic(
      `connections per node before the kill ${openBefore}, after ${openAfter}; reconnected ` +
        `${dropped.length} (${ws} WebSocket, ${dropped.length - ws} SSE); this process's ` +
        `event-loop delay p99 ${Math.round(lag.percentile(99) / 1e6)} ms`,
    )
    assert.equal(behind, '', behind)
    assert.equal(openBefore.length, 3)
    for (const open of openBefore) {
      assert.ok(open >= CLIENTS / 5, `connections per node before the kill: ${openBefore}`)
    }
    assert.equal(
      openBefore.reduce((a, b) => a + b, 0),
      CLIENTS,
      `connections: ${openBefore}`,
    )
    assert.equal(dropped.length, openBefore[1], 'the clients that reconnected: the killed node’s')
    assert.ok(ws > 0 && ws < dropped.length, 'both transports were on the killed node')
    assert.ok(
      probes.every((p) => p.drops <= 1),
      'a client lost its connection more than once',
    )
    assert.deepEqual(
      [openAfter[1], openAfter[0]! + openAfter[2]!],
      [0, CLIENTS],
      `connections per node after: ${openAfter}`,
    )
  })

  test('delivers every publication exactly once and in order to every client when history covers the outage', (t) => {
    const rows = tallies(probes, 'big:feed')
    const recovered = probes.reduce(
      (sum, p) => sum + p.channels['big:feed'].publications.filter((x) => x.recovered).length,
      0,
    )
    t.diagnostic(
      `big:feed: ${COUNT} publications to ${rows.length} clients; ` +
        `received ${probes.reduce((sum, p) => sum + p.channels['big:feed'].publications.length, 0)} ` +
        `(${recovered} flagged recovered, WebSocket only); lost ${total(rows, (x) => x.lost)}, ` +
        `duplicated ${total(rows, (x) => x.duplicated)}, out of order ` +
        `${total(rows, (x) => x.outOfOrder + x.mismatched)}, gap signals ${total(rows, (x) => x.signals)}`,
    )
    const bad = worst(rows, (x) => faults(x) + x.signals)
    assert.equal(
      total(rows, (x) => x.lost),
      0,
      `lost publications; worst clients:\n${bad}`,
    )
    assert.equal(
      total(rows, (x) => x.duplicated),
      0,
      `duplicates; worst clients:\n${bad}`,
    )
    assert.equal(
      total(rows, (x) => x.outOfOrder + x.mismatched),
      0,
      `out of order or misnumbered; worst clients:\n${bad}`,
    )
    assert.equal(
      total(rows, (x) => x.signals),
      0,
      `gap signals; worst clients:\n${bad}`,
    )
  })

  test('signals a gap to every client of the killed node, never leaving a silent hole, when the outage outlasts a five-publication history', (t) => {
    const rows = tallies(probes, 'small:feed').filter((r) => r.probe.drops > 0)
    const lost = rows.map((r) => r.t.lost)
    t.diagnostic(
      `small:feed, ${rows.length} clients of the killed node: lost ${Math.min(...lost)}-` +
        `${Math.max(...lost)} each, ${total(rows, (x) => x.lost)} in all; gap signals ` +
        `${total(rows, (x) => x.signals)}; silent holes ${total(rows, (x) => x.silent)}; ` +
        `duplicated ${total(rows, (x) => x.duplicated)}`,
    )
    assert.ok(rows.length > 0, 'no client was on the killed node')
    const unsignalled = rows.filter((r) => r.t.signals === 0)
    assert.equal(
      unsignalled.length,
      0,
      `clients of the killed node without a gap signal:\n${worst(unsignalled, (x) => x.lost + 1)}`,
    )
    const silent = rows.filter((r) => r.t.silent > 0)
    assert.equal(
      silent.length,
      0,
      `clients with a hole no gap names:\n${worst(silent, (x) => x.silent)}`,
    )
    const twice = rows.filter((r) => r.t.duplicated + r.t.outOfOrder + r.t.mismatched > 0)
    assert.equal(
      twice.length,
      0,
      `duplicated or out of order:\n${worst(twice, (x) => faults(x) - x.lost)}`,
    )
    assert.ok(
      rows.every((r) => r.t.lost > 0),
      'a client of the killed node recovered more than the history keeps',
    )
  })

  test('delivers the small-history channel exactly once and in order to the surviving nodes’ clients', (t) => {
    const rows = tallies(probes, 'small:feed').filter((r) => r.probe.drops === 0)
    t.diagnostic(
      `small:feed, ${rows.length} clients of the surviving nodes: lost ${total(rows, (x) => x.lost)}, ` +
        `duplicated ${total(rows, (x) => x.duplicated)}, gap signals ${total(rows, (x) => x.signals)}`,
    )
    assert.equal(rows.length, CLIENTS - (openBefore[1] ?? 0))
    const bad = rows.filter((r) => faults(r.t) + r.t.signals > 0)
    assert.equal(
      bad.length,
      0,
      `surviving nodes' clients that missed, repeated or were told of a gap:\n${worst(bad, (x) => faults(x) + x.signals)}`,
    )
  })
})
