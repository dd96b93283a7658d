// A paced drain on deploy. Two Switchboard processes share one redis-server; 1,000 client-SDK
// clients (half WebSocket, half SSE) all start on node A through a TCP balancer that acts as a
// load balancer with a readiness probe: it polls A's /readyz and stops sending A new connections
// once A answers 503. Node B publishes 5 rounds a second to a channel whose history outlasts
// the drain. A gets SIGTERM with a 5 s drain window: readiness must turn off before the first
// client is disconnected, the disconnects must be spread over the window, each `disconnect` push
// must carry a reconnect `delay`, and every client must reconnect to B and receive every
// publication exactly once.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { EventSource } from 'eventsource'
import { WebSocket } from 'ws'
import {
  type EventSourceConstructor,
  SwitchboardClient,
  type WebSocketConstructor,
} from '../../src/client/index.ts'
import { announceTime, DRAIN_TICK } from '../../src/lifecycle.ts'
import { waitFor } from '../../src/test-utils/wait.ts'
import { Balancer } from '../cluster/support/balancer.ts'
import { NodeProcess } from '../cluster/support/node-process.ts'
import { type Received, tally } from '../cluster/support/tally.ts'
import { RedisServer, redisSkipReason } from '../support/redis.ts'

const skip = redisSkipReason()
const script = new URL('../cluster/support/node-server.ts', import.meta.url).pathname

const CLIENTS = 1000
const WINDOW = 5000
const RATE = 5
const COUNT = 50 // 10 s of publishing
const TERM_AFTER = 8 // rounds published before SIGTERM
const CHANNEL = 'big:feed'

/** A `disconnect` push as a client received it. */
interface Seen {
  readonly at: number
  readonly delay: unknown
  readonly code: number
}

const pushes: Seen[] = []

function record(text: string): void {
  if (!text.includes('"disconnect"')) return
  const push = JSON.parse(text) as { type?: string; delay?: unknown; code: number }
  if (push.type === 'disconnect')
    pushes.push({ at: Date.now(), delay: push.delay, code: push.code })
}

/** The `ws` WebSocket, noting every `disconnect` push it receives. */
class SniffingWebSocket extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols)
    this.on('message', (data, binary) => {
      if (!binary) record(String(data))
    })
  }
}

/** The `eventsource` EventSource, noting every `disconnect` event it receives. */
class SniffingEventSource extends EventSource {
  constructor(url: string | URL, init?: ConstructorParameters<typeof EventSource>[1]) {
    super(url, init)
    this.addEventListener('disconnect', (event) => record(event.data))
  }
}

/** The time from the first to the last of sorted `times`, and the most of them in one second. */
function spreadOf(times: number[]): { spread: number; most: number } {
  let most = 0
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= 1000) j++
    most = Math.max(most, i - j + 1)
  }
  return { spread: times.at(-1)! - times[0]!, most }
}

/** When node A ended each session with 3000, by its own clock, sorted (printed at its exit). */
function sessionEnds(output: string): number[] {
  const m = /session-ends (\[[\d,]*\])/.exec(output)
  assert.ok(m, `node A printed no session ends:\n${output}`)
  return (JSON.parse(m[1]!) as number[]).sort((x, y) => x - y)
}

interface Probe {
  readonly client: SwitchboardClient
  readonly transport: 'websocket' | 'sse'
  readonly received: Received
  last: string
}

function startProbe(id: number, url: string): Probe {
  const transport = id % 2 === 0 ? 'websocket' : 'sse'
  const client = new SwitchboardClient({
    url,
    transport,
    WebSocket: SniffingWebSocket as unknown as WebSocketConstructor,
    EventSource: SniffingEventSource as unknown as EventSourceConstructor,
    visibility: null,
  })
  const received: Received = { publications: [], gaps: [], unrecovered: 0 }
  client.subscribe(CHANNEL, {
    onPublication: (p) => received.publications.push(p as Received['publications'][number]),
    onGap: (g) => received.gaps.push(g),
    onSubscribed: (s) => {
      if (s.recovered === false) received.unrecovered++
    },
  })
  const probe: Probe = { client, transport, received, last: '' }
  client.on('state', (e) => {
    probe.last = `${e.previous}->${e.state} ${e.code} ${e.reason}`
  })
  client.connect()
  return probe
}

describe('SIGTERM drains a node of 1,000 sessions over a 5 s window', {
  skip,
  timeout: 90_000,
}, () => {
  let redis: RedisServer | undefined
  let a: NodeProcess | undefined
  let b: NodeProcess | undefined
  let balancer: Balancer | undefined
  const probes: Probe[] = []
  let termAt = 0
  /** When A's /readyz first answered 503 (0: never). */
  let notReadyAt = 0
  let exitCode: number | NodeJS.Signals | null = null
  let polling = true
  let sessionsOnB = 0

  before(async () => {
    redis = await RedisServer.start()
    a = await NodeProcess.run(script, [redis.url, '--drain', String(WINDOW)])
    b = await NodeProcess.run(script, [redis.url, '--drain', String(WINDOW)])
    balancer = await Balancer.start([a.port, b.port])
    balancer.backend(b.port).alive = false // every client starts on A
    const url = `ws://127.0.0.1:${balancer.port}/switchboard`
    for (let i = 0; i < CLIENTS; i++) probes.push(startProbe(i, url))
    await waitFor(
      () => probes.every((p) => p.client.getSubscription(CHANNEL)?.state === 'subscribed'),
      30_000,
      'every client subscribed',
    )
    assert.equal(balancer.backend(a.port).open, CLIENTS, 'every client is on node A')
    const ready = await fetch(`${a.url}/readyz`)
    assert.equal(ready.status, 200, `A ready before the drain: ${await ready.text()}`)
    balancer.backend(b.port).alive = true

    // The load balancer's readiness probe: A leaves the pool when it answers 503.
    const probeA = async () => {
      while (polling && notReadyAt === 0) {
        try {
          const res = await fetch(`${a!.url}/readyz`)
          if (res.status === 503) {
            notReadyAt = Date.now()
            balancer!.backend(a!.port).alive = false
          }
        } catch {}
        await sleep(10)
      }
    }
    const res = await fetch(`${b.url}/pump`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channels: [CHANNEL], rate: RATE, count: COUNT }),
    })
    assert.equal(res.status, 200)
    while ((await (await fetch(`${b.url}/pump`)).json()).published < TERM_AFTER) await sleep(20)
    const polled = probeA()
    termAt = Date.now()
    exitCode = await a.terminate()
    polling = false
    await polled
    let status = (await (await fetch(`${b.url}/pump`)).json()) as { done: boolean; error: unknown }
    while (!status.done) {
      await sleep(100)
      status = await (await fetch(`${b.url}/pump`)).json()
    }
    assert.equal(status.error, null)
    const settled = (p: Probe) =>
      p.client.state === 'connected' &&
      p.client.getSubscription(CHANNEL)?.position?.offset === COUNT
    try {
      await waitFor(() => probes.every(settled), 30_000)
    } catch {
      const late = new Map<string, number>()
      for (const p of probes.filter((x) => !settled(x))) {
        const key = `${p.transport} ${p.client.state} at ${p.client.getSubscription(CHANNEL)?.position?.offset} (${p.last})`
        late.set(key, (late.get(key) ?? 0) + 1)
      }
      assert.fail(`clients not reconnected and caught up after 30 s: ${JSON.stringify([...late])}`)
    }
    sessionsOnB = ((await (await fetch(`${b.url}/stats`)).json()) as { connections: number })
      .connections
  })

  after(async () => {
    polling = false
    for (const p of probes) p.client.disconnect()
    await balancer?.close()
    await Promise.all([a?.kill(), b?.kill()])
    await redis?.stop()
  })

  test('turns readiness off before the first disconnect, and exits 0 after the window', (t) => {
    assert.equal(exitCode, 0, a?.output)
    // Node A's own clock: when it first answered /readyz with 503, and when it ended its first
    // session.
    const first503 = Number(/first-503 (\d+)/.exec(a!.output)?.[1] ?? 0)
    const ends = sessionEnds(a!.output)
    assert.ok(first503 > 0, 'node A never answered /readyz with 503')
    t.diagnostic(
      `the balancer's probe saw the 503 ${notReadyAt === 0 ? 'never' : `${notReadyAt - termAt} ms after SIGTERM`}`,
    )
    assert.ok(
      first503 < ends[0]!,
      `/readyz answered 503 ${first503 - termAt} ms after SIGTERM, the first session ended at ${ends[0]! - termAt} ms`,
    )
  })

  test('spreads the disconnects over the window, each push with code 3000 and a delay', (t) => {
    assert.equal(pushes.length, CLIENTS, 'one disconnect push per session')
    for (const p of pushes) {
      assert.equal(p.code, 3000)
      assert.equal(typeof p.delay, 'number', `a push without a delay: ${JSON.stringify(p)}`)
      assert.ok((p.delay as number) >= 0 && (p.delay as number) <= WINDOW)
    }
    // When node A ended each session, as it printed at exit (the pacing it controls), and when
    // the clients received the pushes (the same, plus this busy process's own delays).
    const ends = sessionEnds(a!.output)
    assert.equal(ends.length, CLIENTS, 'sessions ended with 3000')
    const { spread, most } = spreadOf(ends)
    const seen = spreadOf(pushes.map((p) => p.at).sort((x, y) => x - y))
    t.diagnostic(
      `node A ended its sessions over ${spread} ms of a ${WINDOW} ms window; at most ${most} ` +
        `(${((100 * most) / CLIENTS).toFixed(1)} %) in any one second; the clients received ` +
        `the pushes over ${seen.spread} ms, at most ${seen.most} in one second`,
    )
    assert.ok(spread >= 0.8 * WINDOW, `spread ${spread} ms`)
    // An even spread over the paced part of the window (after the 500 ms announce) puts 22 % in
    // each second; allow two 100 ms ticks of timer slip on a busy machine above it.
    const even = (1000 + 2 * DRAIN_TICK) / (WINDOW - announceTime(WINDOW))
    assert.ok(most <= even * CLIENTS, `${most} disconnects in one second (bound ${even * CLIENTS})`)
  })

  test('every client reconnects to the other node and receives every publication exactly once', (t) => {
    const rows = probes.map((p) => tally(p.received, COUNT))
    const lost = rows.reduce((s, r) => s + r.lost, 0)
    const duplicated = rows.reduce((s, r) => s + r.duplicated, 0)
    const disorder = rows.reduce((s, r) => s + r.outOfOrder + r.mismatched, 0)
    t.diagnostic(
      `${CLIENTS} clients × ${COUNT} publications: lost ${lost}, duplicated ${duplicated}`,
    )
    const states = new Map<string, number>()
    for (const p of probes) states.set(p.last, (states.get(p.last) ?? 0) + 1)
    assert.equal(
      sessionsOnB,
      CLIENTS,
      `every client is on node B: ${JSON.stringify([...states])} ${JSON.stringify(balancer?.backends)}`,
    )
    assert.equal(lost, 0)
    assert.equal(duplicated, 0)
    assert.equal(disorder, 0)
  })
})
