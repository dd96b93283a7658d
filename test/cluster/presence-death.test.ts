// A node killed with SIGKILL cannot say goodbye: its presence members stop being refreshed in
// Redis, expire after the broker's presenceTtl, and whichever surviving node prunes them
// announces their leave. Three Switchboard nodes run as child processes
// (support/presence-node.ts) on one real redis-server; clients (the SDK) on every node subscribe
// to one presence channel; one node is killed.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { WebSocket } from 'ws'
import {
  type Subscription,
  SwitchboardClient,
  type WebSocketConstructor,
} from '../../src/client/index.ts'
import type { ClientInfo, PresenceResult } from '../../src/protocol/index.ts'
import { until } from '../../src/test-utils/wait.ts'
import { RedisServer, redisSkipReason } from '../support/redis.ts'

const skip = redisSkipReason()
const root = fileURLToPath(new URL('../..', import.meta.url))
const PRESENCE_TTL = 3000
/** Leaves of a dead node's members must arrive within this of the kill. */
const LEAVE_BOUND = 1.5 * PRESENCE_TTL
const CHANNEL = 'room:lobby'
const NODES = ['a', 'b', 'c']
const PER_NODE = 2

interface NodeProcess {
  name: string
  child: ChildProcess
  /** `http://127.0.0.1:<port>` */
  url: string
}

/** Starts support/presence-node.ts and resolves once it prints the URL it listens on. */
async function startNode(name: string, env: Record<string, string>): Promise<NodeProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/cluster/support/presence-node.ts'],
    {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  )
  let out = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`node ${name} did not listen within 15 s:\n${out}`))
    }, 15_000)
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    })
    child.stderr!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`node ${name} exited (${code ?? signal}) before listening:\n${out}`))
    })
  })
  return { name, child, url }
}

async function killNode(node: NodeProcess): Promise<void> {
  const { child } = node
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGKILL')
  await exited
}

/** One SDK client subscribed to the channel on one node, with every join/leave it was pushed. */
interface Member {
  node: string
  user: string
  client: SwitchboardClient
  sub: Subscription
  leaves: { info: ClientInfo; at: number }[]
}

async function presenceOver(node: NodeProcess): Promise<PresenceResult> {
  const res = await fetch(`${node.url}/presence?channel=${encodeURIComponent(CHANNEL)}`)
  assert.equal(res.status, 200)
  return (await res.json()) as PresenceResult
}

function clientIds(p: PresenceResult): string[] {
  return (p.members ?? []).map((m) => m.client).sort()
}

describe('presence when a node dies by SIGKILL', { skip }, () => {
  let redis: RedisServer | undefined
  const nodes: NodeProcess[] = []
  const members: Member[] = []

  before(async () => {
    redis = await RedisServer.start()
    const env = {
      REDIS_URL: redis.url,
      PREFIX: `pd${process.pid}`,
      PRESENCE_TTL: String(PRESENCE_TTL),
    }
    const started = await Promise.allSettled(NODES.map((name) => startNode(name, env)))
    for (const s of started) if (s.status === 'fulfilled') nodes.push(s.value)
    for (const s of started) if (s.status === 'rejected') throw s.reason
  })

  after(async () => {
    for (const m of members) m.client.disconnect()
    await Promise.allSettled(nodes.map(killNode))
    await redis?.stop()
  })

  test(`every surviving subscriber gets one leave per member of the killed node within ${LEAVE_BOUND} ms, and presence agrees everywhere`, async (t) => {
    for (const node of nodes) {
      for (let i = 0; i < PER_NODE; i++) {
        const user = `${node.name}${i}`
        const client = new SwitchboardClient({
          url: `${node.url}/switchboard`,
          WebSocket: WebSocket as unknown as WebSocketConstructor,
          transport: 'websocket',
          token: user,
          minReconnectDelay: 50,
          maxReconnectDelay: 200,
          visibility: null,
        })
        const member: Member = { node: node.name, user, client, sub: undefined!, leaves: [] }
        member.sub = client.subscribe(CHANNEL, {
          onLeave: (info) => member.leaves.push({ info, at: Date.now() }),
        })
        members.push(member)
        client.connect()
      }
    }
    await until(
      () => members.every((m) => m.sub.state === 'subscribed'),
      'every client subscribed',
      10_000,
    )
    const total = nodes.length * PER_NODE
    for (const node of nodes) {
      assert.equal((await presenceOver(node)).count, total, `presence on node ${node.name}`)
    }
    const before = await presenceOver(nodes[0]!)
    const idOf = new Map((before.members ?? []).map((m) => [m.user, m.client]))
    assert.equal(idOf.size, total)

    const dead = nodes.at(-1)!
    const survivors = nodes.slice(0, -1)
    const deadIds = members.filter((m) => m.node === dead.name).map((m) => idOf.get(m.user)!)
    const living = members.filter((m) => m.node !== dead.name)
    const livingIds = living.map((m) => idOf.get(m.user)!).sort()
    for (const m of members) m.leaves.length = 0

    const killedAt = Date.now()
    await killNode(dead)
    // Its clients would only retry a dead port: stop them.
    for (const m of members) if (m.node === dead.name) m.client.disconnect()

    const heardAll = (m: Member) =>
      deadIds.every((id) => m.leaves.some((l) => l.info.client === id))
    await until(
      () => living.every(heardAll),
      'leave pushes for every member of the killed node',
      3 * PRESENCE_TTL,
    )
    const last = Math.max(...living.flatMap((m) => m.leaves.map((l) => l.at)))
    t.diagnostic(`last leave ${last - killedAt} ms after the kill (presenceTtl ${PRESENCE_TTL} ms)`)
    assert.ok(
      last - killedAt <= LEAVE_BOUND,
      `the last leave came ${last - killedAt} ms after the kill (bound ${LEAVE_BOUND} ms)`,
    )

    // One more sweep period and then some: nothing arrives twice, no survivor is announced gone.
    await new Promise((r) => setTimeout(r, PRESENCE_TTL / 3 + 500))
    for (const m of living) {
      assert.deepEqual(
        m.leaves.map((l) => l.info.client).sort(),
        [...deadIds].sort(),
        `leaves pushed to ${m.user}`,
      )
      assert.equal(m.client.state, 'connected')
      assert.equal(m.sub.state, 'subscribed')
    }

    // Presence on every surviving node, over HTTP and through each surviving client: the same
    // members, exactly the living ones.
    for (const node of survivors) {
      const p = await presenceOver(node)
      assert.equal(p.count, livingIds.length, `count on node ${node.name}`)
      assert.deepEqual(clientIds(p), livingIds, `members on node ${node.name}`)
    }
    for (const m of living) {
      const p = await m.sub.presence()
      assert.equal(p.count, livingIds.length, `count seen by ${m.user}`)
      assert.deepEqual(clientIds(p), livingIds, `members seen by ${m.user}`)
    }
  })
})
