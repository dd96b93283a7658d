// A durable node restarts mid-stream. One Switchboard process on a DurableBroker serves 200
// client-SDK clients of this process (half WebSocket, half SSE), all on one channel, while this
// process publishes through it 50 times a second and records every acknowledged publication. The
// node is stopped (SIGTERM in one case, SIGKILL in the other) and started again on the same port
// and the same data directory; the clients reconnect by themselves and resubscribe with `since`,
// and publishing goes on. Once it has stopped and every client has caught up, each client's
// receptions are counted against what was acknowledged: lost, duplicated, out of order, and
// resubscribes that did not recover.
//
// The publisher numbers each publication with the offset it expects (`{ seq }` at offset seq).
// An attempt that gets no answer (the node died or was closing) may or may not have been
// committed: the publisher asks the restarted node for the stream's top and goes on from there,
// so a publication committed without its answer keeps its seq and is merely optional — a client
// may have it, once, but only acknowledged ones must be there.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { EventSource } from 'eventsource'
import { WebSocket } from 'ws'
import {
  type EventSourceConstructor,
  SwitchboardClient,
  type WebSocketConstructor,
} from '../../src/client/index.ts'
import { waitFor } from '../../src/test-utils/wait.ts'
import { NodeProcess } from '../cluster/support/node-process.ts'
import { type Received, type Tally, tally } from '../cluster/support/tally.ts'

const NODE = fileURLToPath(new URL('./support/durable-node.ts', import.meta.url))
const CLIENTS = 200
const RATE = 50 // publications a second
const BEFORE = 100 // acknowledged before the node is stopped
const AFTER = 100 // acknowledged after the restarted node is ready
const CHANNEL = 'feed:main'

/** A publication the node answered: committed at `offset` of `epoch`. */
interface Ack {
  readonly seq: number
  readonly offset: number
  readonly epoch: string
}

interface Position {
  readonly offset: number
  readonly epoch: string
}

/** Publishes `{ seq }` through the node at RATE a second until stopped; keeps the answers. */
class Publisher {
  readonly acked: Ack[] = []
  /** Attempts that got no answer. */
  failed = 0
  /** Seqs published without an answer that the restarted stream holds: they may be received. */
  readonly unacked = new Set<number>()
  /** Anything that breaks the model: an offset other than expected, a new epoch. */
  readonly anomalies: string[] = []
  readonly done: Promise<void>
  /** Called once, just before the next publication is sent. */
  onSend: (() => void) | null = null
  #stopped = false
  #epoch: string | null = null
  readonly #url: string

  constructor(url: string) {
    this.#url = url
    this.done = this.#run()
  }

  stop(): Promise<void> {
    this.#stopped = true
    return this.done
  }

  async #run(): Promise<void> {
    const interval = 1000 / RATE
    let next = performance.now()
    let seq = 1
    while (!this.#stopped) {
      const wait = next - performance.now()
      if (wait > 0) await sleep(wait)
      // Paced, but never catching up in a burst after an outage.
      next = Math.max(next + interval, performance.now())
      const onSend = this.onSend
      this.onSend = null
      onSend?.()
      const ack = await this.#publish(seq)
      if (ack !== null) {
        this.acked.push(ack)
        this.#check(ack, seq)
        seq++
        continue
      }
      this.failed++
      const top = await this.#top()
      if (top === null) return
      if (top.offset === seq) this.unacked.add(seq)
      else if (top.offset !== seq - 1) {
        this.anomalies.push(`after seq ${seq} got no answer, the stream's top is ${top.offset}`)
      }
      this.#check(top, top.offset)
      seq = top.offset + 1
    }
  }

  /** Records where `p` departs from the model; a new epoch once, when it appears. */
  #check(p: Position, expected: number): void {
    if (p.offset !== expected) this.anomalies.push(`seq ${expected} was committed at ${p.offset}`)
    if (this.#epoch !== null && p.epoch !== this.#epoch) {
      this.anomalies.push(`offset ${p.offset} is in a new epoch, ${p.epoch} (was ${this.#epoch})`)
    }
    this.#epoch = p.epoch
  }

  async #publish(seq: number): Promise<Ack | null> {
    try {
      const res = await fetch(`${this.#url}/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ channel: CHANNEL, seq }),
        signal: AbortSignal.timeout(5_000),
      })
      if (res.status !== 200) {
        await res.arrayBuffer()
        return null
      }
      const { offset, epoch } = (await res.json()) as Position
      return { seq, offset, epoch }
    } catch {
      return null
    }
  }

  /** The stream's top, once a node answers; null when stopped first. */
  async #top(): Promise<Position | null> {
    while (!this.#stopped) {
      try {
        const res = await fetch(`${this.#url}/top?channel=${CHANNEL}`, {
          signal: AbortSignal.timeout(2_000),
        })
        if (res.status === 200) return (await res.json()) as Position
        await res.arrayBuffer()
      } catch {}
      await sleep(25)
    }
    return null
  }
}

/** One client and everything it saw. */
interface Probe {
  readonly id: number
  readonly transport: 'websocket' | 'sse'
  readonly client: SwitchboardClient
  /** Times its connection was lost after it had been connected. */
  drops: number
  /** `subscribed` events of a resubscribe (with `since`). */
  resubscribes: number
  readonly received: Received
}

function startProbe(id: number, url: string): Probe {
  const transport = id % 2 === 0 ? 'websocket' : 'sse'
  const client = new SwitchboardClient({
    url,
    transport,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    EventSource: EventSource as unknown as EventSourceConstructor,
    // The restart takes a second or two: keep the backoff from growing far beyond it.
    maxReconnectDelay: 2_000,
    visibility: null,
  })
  const probe: Probe = {
    id,
    transport,
    client,
    drops: 0,
    resubscribes: 0,
    received: { publications: [], gaps: [], unrecovered: 0 },
  }
  const r = probe.received
  client.on('state', (e) => {
    if (e.previous === 'connected') probe.drops++
  })
  client.subscribe(CHANNEL, {
    onPublication: (p) => r.publications.push(p as Received['publications'][number]),
    onGap: (g) => r.gaps.push(g),
    onSubscribed: (s) => {
      if (s.wasRecovering) probe.resubscribes++
      if (s.recovered === false) r.unrecovered++
    },
  })
  client.connect()
  return probe
}

/** Acknowledged publications a client never received (same epoch, offset and seq). */
function missing(probe: Probe, acked: readonly Ack[]): number {
  const got = new Set(
    probe.received.publications.map((p) => `${p.epoch}:${p.offset}:${p.data.seq}`),
  )
  return acked.filter((a) => !got.has(`${a.epoch}:${a.offset}:${a.seq}`)).length
}

interface Row {
  readonly probe: Probe
  readonly t: Tally
  /** Acknowledged publications never received. */
  readonly missing: number
}

function sum(rows: readonly Row[], f: (r: Row) => number): number {
  return rows.reduce((s, r) => s + f(r), 0)
}

/** The worst clients by `score`, one a line, for assertion messages. */
function worst(rows: readonly Row[], score: (r: Row) => number): string {
  return rows
    .filter((r) => score(r) > 0)
    .sort((a, b) => score(b) - score(a))
    .slice(0, 8)
    .map(
      (r) =>
        `#${r.probe.id} ${r.probe.transport} drops=${r.probe.drops} resubscribes=${r.probe.resubscribes} ` +
        `missing=${r.missing} ${JSON.stringify(r.t)}`,
    )
    .join('\n')
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url)
  assert.equal(res.status, 200, `${url}: ${res.status}`)
  return (await res.json()) as T
}

interface History {
  readonly epoch: string
  readonly first: number | null
  readonly seqs: number[]
  readonly errors: string[]
}

function restartCase(signal: 'SIGTERM' | 'SIGKILL', how: string): void {
  describe(`a durable node ${how} while publishing 50 a second to 200 WebSocket and SSE clients, then started again on the same port and data directory`, {
    timeout: 40_000,
  }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'swb-restart-'))
    const nodes: NodeProcess[] = []
    const probes: Probe[] = []
    let publisher: Publisher | undefined
    let exit: number | NodeJS.Signals | null = null
    let downMs = 0
    let exitMs = 0
    let ackedBeforeStop = 0
    let top: Position = { offset: 0, epoch: '' }
    let history: History | undefined
    /** Empty when every client caught up, else who did not. */
    let behind = ''
    let rows: Row[] = []

    before(async () => {
      const first = await NodeProcess.run(NODE, [dir, '0'])
      nodes.push(first)
      const url = first.url
      for (let i = 0; i < CLIENTS; i++)
        probes.push(startProbe(i, `ws://127.0.0.1:${first.port}/switchboard`))
      await waitFor(
        () => probes.every((p) => p.client.getSubscription(CHANNEL)?.state === 'subscribed'),
        20_000,
        'every client subscribed',
      )

      publisher = new Publisher(url)
      await waitFor(
        () => publisher!.acked.length >= BEFORE,
        10_000,
        `${BEFORE} acknowledged publications`,
      )
      // Mid-publication: 0-4 ms after a publish is sent (its round trip takes ~4 ms), so it may
      // be stopped before the node reads it, between its commit and its answer, or after.
      await new Promise<void>((resolve) => {
        publisher!.onSend = () => setTimeout(resolve, Math.random() * 4)
      })
      ackedBeforeStop = publisher.acked.length
      const stoppedAt = performance.now()
      if (signal === 'SIGTERM') exit = await first.terminate()
      else {
        await first.kill()
        exit = first.child.signalCode
      }
      exitMs = Math.round(performance.now() - stoppedAt)
      const second = await NodeProcess.run(NODE, [dir, String(first.port)])
      nodes.push(second)
      downMs = Math.round(performance.now() - stoppedAt)
      const atRestart = publisher.acked.length
      await waitFor(
        () => publisher!.acked.length >= atRestart + AFTER,
        15_000,
        `${AFTER} acknowledged publications after the restart`,
      )
      await publisher.stop()

      top = await getJson<Position>(`${url}/top?channel=${CHANNEL}`)
      history = await getJson<History>(`${url}/history?channel=${CHANNEL}`)
      // Settled: every subscription stands at the stream's last publication.
      const atTop = (p: Probe) => {
        const pos = p.client.getSubscription(CHANNEL)?.position
        return pos?.offset === top.offset && pos.epoch === top.epoch
      }
      try {
        await waitFor(() => probes.every(atTop), 15_000)
      } catch {
        const late = probes
          .filter((p) => !atTop(p))
          .map(
            (p) =>
              `#${p.id} ${p.transport} at ${JSON.stringify(p.client.getSubscription(CHANNEL)?.position)} ` +
              `(client ${p.client.state}, subscription ${p.client.getSubscription(CHANNEL)?.state})`,
          )
        behind = [
          `${late.length} clients behind ${JSON.stringify(top)} after 15 s:`,
          ...late.slice(0, 10),
        ].join('\n')
      }
      rows = probes.map((probe) => ({
        probe,
        t: tally(probe.received, top.offset, publisher!.unacked),
        missing: missing(probe, publisher!.acked),
      }))
    })

    after(async () => {
      await publisher?.stop()
      for (const p of probes) p.client.disconnect()
      await Promise.all(nodes.map((n) => n.kill()))
      rmSync(dir, { recursive: true, force: true })
    })

    test(`comes back with the same epoch and every acknowledged publication in its history`, (t) => {
      const p = publisher!
      t.diagnostic(
        `acknowledged ${p.acked.length} (${ackedBeforeStop} before the ${signal}); attempts without ` +
          `an answer ${p.failed}, of which committed ${p.unacked.size}; ${signal} to exit ${exitMs} ms, ` +
          `to ready again ${downMs} ms; ` +
          `top ${JSON.stringify(top)}`,
      )
      if (signal === 'SIGTERM')
        assert.equal(exit, 0, `SIGTERM should close cleanly:\n${nodes[0]?.output}`)
      else assert.equal(exit, 'SIGKILL')
      const h = history!
      assert.deepEqual(h.errors, [], 'errors reported by the restarted node')
      const lost = p.acked.filter(
        (a) => a.epoch !== h.epoch || h.seqs[a.offset - h.first!] !== a.seq,
      )
      assert.equal(
        lost.length,
        0,
        `${lost.length} of ${p.acked.length} acknowledged publications missing from the restarted ` +
          `node's history (epoch ${h.epoch}), e.g. ${JSON.stringify(lost.slice(0, 3))}`,
      )
      const epoch = p.acked[0]!.epoch
      assert.equal(h.epoch, epoch, 'the restarted node resumed the epoch')
      assert.equal(top.epoch, epoch)
      assert.deepEqual(p.anomalies, [], 'the stream departed from what the publisher saw')
      assert.deepEqual(
        h.seqs,
        Array.from({ length: top.offset }, (_, i) => i + 1),
        'history holds offsets 1..top, each with its seq',
      )
    })

    test('delivers every acknowledged publication to every client exactly once and in order', (t) => {
      const unackedSeen = probes.filter((p) =>
        p.received.publications.some((x) => publisher!.unacked.has(x.data.seq)),
      ).length
      t.diagnostic(
        `${top.offset} publications to ${rows.length} clients; received ` +
          `${probes.reduce((s, p) => s + p.received.publications.length, 0)} (${probes.reduce(
            (s, p) => s + p.received.publications.filter((x) => x.recovered).length,
            0,
          )} flagged recovered, WebSocket only); lost ${sum(rows, (r) => r.missing)}, duplicated ` +
          `${sum(rows, (r) => r.t.duplicated)}, out of order ${sum(rows, (r) => r.t.outOfOrder + r.t.mismatched)}; ` +
          `clients holding a committed unacknowledged publication: ${unackedSeen}`,
      )
      assert.equal(behind, '', behind)
      const bad = worst(
        rows,
        (r) => r.missing + r.t.lost + r.t.duplicated + r.t.outOfOrder + r.t.mismatched,
      )
      assert.equal(
        sum(rows, (r) => r.missing),
        0,
        `lost acknowledged publications; worst clients:\n${bad}`,
      )
      assert.equal(
        sum(rows, (r) => r.t.lost),
        0,
        `lost publications; worst clients:\n${bad}`,
      )
      assert.equal(
        sum(rows, (r) => r.t.duplicated),
        0,
        `duplicates; worst clients:\n${bad}`,
      )
      assert.equal(
        sum(rows, (r) => r.t.outOfOrder + r.t.mismatched),
        0,
        `out of order, misnumbered or in another epoch; worst clients:\n${bad}`,
      )
    })

    test('reconnects every client by itself, and every resubscribe after the restart recovers', (t) => {
      const ws = probes.filter((p) => p.transport === 'websocket')
      t.diagnostic(
        `drops ${probes.filter((p) => p.drops > 0).length}/${CLIENTS} (${ws.filter((p) => p.drops > 0).length} ` +
          `WebSocket); resubscribes ${probes.reduce((s, p) => s + p.resubscribes, 0)}; recovered: false ` +
          `${sum(rows, (r) => r.probe.received.unrecovered)}; gap signals ${sum(rows, (r) => r.t.signals)}`,
      )
      const stayed = probes.filter((p) => p.drops === 0 || p.resubscribes === 0)
      assert.equal(
        stayed.length,
        0,
        `clients that never lost the node or never resubscribed: ${stayed.slice(0, 10).map((p) => `#${p.id} ${p.transport}`)}`,
      )
      const unrecovered = rows.filter((r) => r.t.signals > 0)
      assert.equal(
        unrecovered.length,
        0,
        `clients told recovered: false or given a gap:\n${worst(unrecovered, (r) => r.t.signals)}`,
      )
    })
  })
}

restartCase('SIGTERM', 'stopped with SIGTERM')
restartCase('SIGKILL', 'killed with SIGKILL')
