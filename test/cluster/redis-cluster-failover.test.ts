// A Redis Cluster master fails over while two Switchboard nodes carry traffic: every client
// ends with every acknowledged publication exactly once and in order, or was told of a gap.
import assert from 'node:assert/strict'
import { afterEach, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { EventSource } from 'eventsource'
import { WebSocket } from 'ws'
import { RedisBroker } from '../../src/broker/redis/index.ts'
import {
  type EventSourceConstructor,
  type GapContext,
  type PublicationContext,
  SwitchboardClient,
  type WebSocketConstructor,
} from '../../src/client/index.ts'
import { Switchboard } from '../../src/index.ts'
import { RedisCluster, redisSkipReason } from '../support/redis.ts'

const skip = redisSkipReason()
const CHANNELS = ['fo:a', 'fo:b', 'fo:c', 'fo:d', 'fo:e', 'fo:f']

interface Watch {
  client: SwitchboardClient
  got: Map<string, PublicationContext[]>
  gaps: GapContext[]
}

let cluster: RedisCluster | undefined
const apps: Switchboard[] = []
const clients: SwitchboardClient[] = []

afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect()
  await Promise.all(apps.splice(0).map((a) => a.close()))
  await cluster?.stop()
  cluster = undefined
})

async function node(): Promise<{ app: Switchboard; port: number }> {
  const app = new Switchboard({ logger: false })
  app.channels.configure({
    broker: new RedisBroker({ cluster: cluster!.urls, prefix: 'fo', commandTimeout: 1_000 }),
  })
  app.channels.namespace('fo', { historySize: 10_000, historyTtl: 600_000 })
  apps.push(app)
  const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, port }
}

async function trafficThroughFailover(mode: 'graceful' | 'kill'): Promise<void> {
  cluster = await RedisCluster.start(3, 1)
  const a = await node()
  const b = await node()
  const watches: Watch[] = []
  for (const [i, transport] of (['websocket', 'sse', 'websocket', 'sse'] as const).entries()) {
    const client = new SwitchboardClient({
      url: `ws://127.0.0.1:${i % 2 === 0 ? b.port : a.port}/switchboard`,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      EventSource: EventSource as unknown as EventSourceConstructor,
      transport,
      minReconnectDelay: 50,
      maxReconnectDelay: 300,
      visibility: null,
    })
    clients.push(client)
    const w: Watch = { client, got: new Map(), gaps: [] }
    for (const ch of CHANNELS) {
      w.got.set(ch, [])
      client.subscribe(ch, {
        onPublication: (p) => w.got.get(ch)!.push(p),
        onGap: (g) => w.gaps.push(g),
      })
    }
    client.connect()
    watches.push(w)
  }
  await sleep(1_000)

  // The publisher on node A: round robin over the channels, each publish retried with its
  // idempotency key until it is acknowledged (a failover makes some fail for a moment).
  const acked = new Map<string, { offset: number; epoch: string; n: number }[]>(
    CHANNELS.map((c) => [c, []]),
  )
  let stop = false
  let failures = 0
  const publisher = (async () => {
    for (let n = 0; !stop; n++) {
      const ch = CHANNELS[n % CHANNELS.length]!
      for (;;) {
        try {
          const r = await a.app.hub.publish(ch, { n }, { idempotencyKey: `k${n}` })
          acked.get(ch)!.push({ offset: r.offset, epoch: r.epoch, n })
          break
        } catch {
          failures++
          await sleep(50)
        }
      }
      await sleep(5)
    }
  })()

  await sleep(1_500)
  // The master that owns fo:a's slot fails over during traffic: gracefully (its replica caught
  // up first), or killed (whatever it had not replicated yet is lost).
  const slot = Number(cluster!.nodes[0]!.cli('CLUSTER', 'KEYSLOT', 'fo:{c:fo:a}:m').trim())
  const owner = cluster!
    .masters()
    .find((m) => m.cli('CLUSTER', 'COUNTKEYSINSLOT', String(slot)).trim() !== '0')!
  const ownerId = owner.cli('CLUSTER', 'MYID').trim()
  // CLUSTER NODES lines: <id> <ip:port@bus> <flags> <master id> …; the replica is the line whose
  // master id is the owner's.
  const replicaLine = owner
    .cli('CLUSTER', 'NODES')
    .split('\n')
    .map((l) => l.split(' '))
    .find((f) => f[2]?.includes('slave') && f[3] === ownerId)
  const replicaPort = Number(replicaLine?.[1]?.split('@')[0]?.split(':')[1])
  const replica = cluster!.nodes.find((n) => n.port === replicaPort)!
  assert.ok(replica, 'the master has a replica')
  if (mode === 'graceful') replica.cli('CLUSTER', 'FAILOVER')
  else await owner.kill()
  const deadline = Date.now() + 15_000
  while (!replica.cli('ROLE').startsWith('master')) {
    assert.ok(Date.now() < deadline, 'the replica took over')
    await sleep(100)
  }
  await cluster!.waitOk()
  await sleep(2_000)
  stop = true
  await publisher
  await sleep(2_500)

  let lost = 0
  let duplicated = 0
  let outOfOrder = 0
  let untoldEpochs = 0
  let told = 0
  let total = 0
  for (const w of watches) {
    for (const ch of CHANNELS) {
      const got = w.got.get(ch)!
      const seen = new Set<string>()
      let prev = 0
      let epoch = got[0]?.epoch
      for (const p of got) {
        const id = `${p.epoch}:${p.offset}`
        if (seen.has(id)) duplicated++
        seen.add(id)
        if (p.epoch !== epoch) {
          // A new master starts a new epoch (it may lack the last acknowledged writes); the
          // client must have been told before the new stream's publications.
          if (w.gaps.some((g) => g.channel === ch && g.epoch === p.epoch)) told++
          else untoldEpochs++
          epoch = p.epoch
          prev = 0
        }
        if (p.offset <= prev) outOfOrder++
        prev = p.offset
      }
      const byN = new Set(got.map((p) => (p.data as { n: number }).n))
      for (const ack of acked.get(ch)!) {
        total++
        if (byN.has(ack.n)) continue
        const told = w.gaps.some(
          (g) =>
            g.channel === ch && (g.to === null || (g.from <= ack.offset && ack.offset <= g.to)),
        )
        if (!told) lost++
      }
    }
  }
  console.log(
    `# ${mode} failover: ${total} acknowledged deliveries expected, ${failures} publish retries, lost ${lost}, duplicated ${duplicated}, new epochs told ${told}`,
  )
  assert.ok(total > 4 * 100, `enough traffic (${total})`)
  assert.deepEqual(
    { lost, duplicated, outOfOrder, untoldEpochs },
    { lost: 0, duplicated: 0, outOfOrder: 0, untoldEpochs: 0 },
  )
}

test(
  'a master fails over gracefully during traffic: every client gets every acknowledged publication once, in order, or was told of a new epoch',
  { skip },
  () => trafficThroughFailover('graceful'),
)

test(
  'a master is killed during traffic and its replica takes over: no client takes a new publication for one it has; each was told of the new epoch',
  { skip },
  () => trafficThroughFailover('kill'),
)
