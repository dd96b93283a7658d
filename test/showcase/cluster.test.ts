// The showcase clustered: one redis-server and two `npm start` processes with
// SWITCHBOARD_REDIS_URL set, driven with the client SDK over WebSocket. A user on one node sees a
// user on the other in chat, poll and whiteboard; each node's dashboard names its node.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type ClientError, SwitchboardClient, type WebSocketConstructor } from 'switchboard/client'
import { WebSocket } from 'ws'
import type { Tally } from '../../examples/showcase/poll.ts'
import { until } from '../../src/test-utils/wait.ts'
import { RedisServer, redisSkipReason } from '../support/redis.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const SECRET = 'cluster-test-secret-0123456789'

/** One showcase process: its URL and everything it printed. */
interface ShowcaseNode {
  readonly child: ChildProcess
  readonly url: string
  readonly output: () => string
}

/** Runs `npm start` (scripts/start.mjs) on a free loopback port and waits for its listening line. */
async function startNode(env: Record<string, string>, timeoutMs = 30_000): Promise<ShowcaseNode> {
  const child = spawn(process.execPath, ['scripts/start.mjs'], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString()
  })
  child.stderr!.on('data', (c: Buffer) => {
    out += c.toString()
  })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`no listening line within ${timeoutMs} ms:\n${out}`))
    }, timeoutMs)
    const onData = () => {
      const m = /listening on http:\/\/localhost:(\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        child.stdout!.off('data', onData)
        resolve(`http://127.0.0.1:${m[1]}`)
      }
    }
    child.stdout!.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`exited with ${code} before listening:\n${out}`))
    })
  })
  return { child, url, output: () => out }
}

async function stopNode(node: ShowcaseNode): Promise<void> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return
  const exited = once(node.child, 'exit')
  node.child.kill('SIGTERM')
  const timer = setTimeout(() => node.child.kill('SIGKILL'), 3_000)
  await exited
  clearTimeout(timer)
}

const skip = redisSkipReason()

describe('the showcase clustered over Redis', { skip }, () => {
  let redis: RedisServer
  // Where the durable broker would write: with Redis selected, nothing may appear there.
  let tmp = ''
  let dataDir = ''
  const nodes: ShowcaseNode[] = []
  const clients: SwitchboardClient[] = []

  /** A client signed in as `name` (the demo's token is the name, or a session token) on node
   * `i`, connected. */
  function user(i: number, name: string): SwitchboardClient {
    const c = new SwitchboardClient({
      url: `${nodes[i]!.url.replace('http', 'ws')}/switchboard`,
      token: name,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      transport: 'websocket',
      visibility: null,
    })
    clients.push(c)
    c.connect()
    return c
  }

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'swb-cluster-'))
    dataDir = join(tmp, 'data')
    redis = await RedisServer.start()
    const env = {
      SWITCHBOARD_REDIS_URL: redis.url,
      SWITCHBOARD_SECRET: SECRET,
      SWITCHBOARD_DATA_DIR: dataDir,
    }
    // One after the other: the first builds dist/ when it is stale, the second finds it built.
    nodes.push(await startNode({ ...env, SWITCHBOARD_NODE: 'node-1' }))
    nodes.push(await startNode({ ...env, SWITCHBOARD_NODE: 'node-2' }))
  })

  after(async () => {
    for (const c of clients) c.disconnect()
    await Promise.all(nodes.map(stopNode))
    await redis?.stop()
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true })
  })

  test('each node says it is on the Redis broker, under its own name', async () => {
    for (const [i, node] of nodes.entries()) {
      assert.match(
        node.output(),
        new RegExp(
          `channels on the Redis broker at redis://127\\.0\\.0\\.1:\\d+ as node node-${i + 1}`,
        ),
      )
      const health = (await (await fetch(`${node.url}/health`)).json()) as {
        node: string
        broker: { name: string; healthy: boolean }
      }
      assert.equal(health.node, `node-${i + 1}`)
      assert.deepEqual(health.broker, { name: 'redis', healthy: true })
    }
    assert.equal(existsSync(dataDir), false, 'a node on Redis opens no durable data')
  })

  test('a chat message sent on node 1 reaches a chat user on node 2, and both nodes list the same members', async () => {
    const channel = 'chat:cluster'
    const ada = user(0, 'Ada')
    const bob = user(1, 'Bob')
    const adaJoins: { user: string }[] = []
    const bobGot: unknown[] = []
    const adaSub = ada.subscribe(channel, { onJoin: (info) => adaJoins.push(info) })
    await until(() => adaSub.state === 'subscribed', 'Ada subscribed on node 1')
    const bobSub = bob.subscribe(channel, { onPublication: (p) => bobGot.push(p.data) })
    await until(() => bobSub.state === 'subscribed', 'Bob subscribed on node 2')
    await until(() => adaJoins.some((j) => j.user === 'Bob'), "Bob's join seen on node 1")

    await ada.publish(channel, { text: 'hello from node 1' })
    await until(() => bobGot.length === 1, 'the message on node 2')
    assert.deepEqual(bobGot, [{ text: 'hello from node 1' }])

    const names = async (c: SwitchboardClient) =>
      ((await c.presence(channel)).members ?? []).map((m) => m.user).sort()
    assert.deepEqual(await names(ada), ['Ada', 'Bob'])
    assert.deepEqual(await names(bob), ['Ada', 'Bob'])
  })

  test('a vote on each node gives the right total on both nodes', async () => {
    const cyd = user(0, 'Cyd')
    const dan = user(1, 'Dan')
    const seen: Tally[][] = [[], []]
    for (const [i, c] of [cyd, dan].entries()) {
      const sub = c.subscribe('poll:lunch', {
        onPublication: (p) => seen[i]!.push(p.data as Tally),
      })
      await until(() => sub.state === 'subscribed', `poll page ${i + 1} subscribed`)
    }
    // Both at once: each node appends to the one vote log, neither overwrites the other.
    const [a, b] = (await Promise.all([
      cyd.rpc('poll.vote', { poll: 'lunch', option: 'ramen' }),
      dan.rpc('poll.vote', { poll: 'lunch', option: 'pizza' }),
    ])) as { tally: Tally }[]
    assert.ok(a!.tally.total >= 1 && b!.tally.total >= 1)

    const expected = { ramen: 1, pizza: 1, salad: 0 }
    for (const c of [cyd, dan]) {
      const state = (await c.rpc('poll.get', { poll: 'lunch' })) as { tally: Tally }
      assert.deepEqual(state.tally, { poll: 'lunch', counts: expected, total: 2, version: 2 })
    }
    // A page keeps the highest version it was sent: both pages end on the full tally.
    for (const [i, tallies] of seen.entries()) {
      await until(
        () => tallies.some((t) => t.version === 2),
        `the version-2 tally on page ${i + 1}`,
      )
      const newest = tallies.reduce((x, y) => (y.version > x.version ? y : x))
      assert.deepEqual(newest.counts, expected)
    }
    // A revote on the other node moves the vote; the total stays.
    const moved = (await dan.rpc('poll.vote', { poll: 'lunch', option: 'ramen' })) as {
      tally: Tally
    }
    assert.deepEqual(moved.tally.counts, { ramen: 2, pizza: 0, salad: 0 })
    const again = (await cyd.rpc('poll.get', { poll: 'lunch' })) as { tally: Tally }
    assert.deepEqual(again.tally, moved.tally)
  })

  test('forty voters split over both nodes, all at once, are each counted once on both nodes', async () => {
    const options = ['websocket', 'sse', 'both', 'unsure']
    const vote = (i: number) =>
      fetch(`${nodes[i % 2]!.url}/switchboard`, {
        method: 'POST',
        headers: { authorization: `Bearer voter-${i}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          id: 1,
          type: 'rpc',
          method: 'poll.vote',
          data: { poll: 'transport', option: options[i % 4] },
        }),
      }).then((r) => r.json() as Promise<{ error?: unknown }>)
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => vote(i)))
    assert.deepEqual(
      answers.filter((a) => a.error !== undefined),
      [],
    )
    for (const c of [user(0, 'Jo'), user(1, 'Kim')]) {
      const { tally } = (await c.rpc('poll.get', { poll: 'transport' })) as { tally: Tally }
      assert.deepEqual(tally, {
        poll: 'transport',
        counts: { websocket: 10, sse: 10, both: 10, unsure: 10 },
        total: 40,
        version: 40,
      })
    }
  })

  test('the vote log is the server’s: a client can neither read nor subscribe to it', async () => {
    const eve = user(1, 'Eve')
    await assert.rejects(
      eve.history('votes:lunch'),
      (err: ClientError) => err.code === 'SWB_ERR_CHANNEL_FORBIDDEN',
    )
  })

  /** The session token a login on node `i` sets as its cookie (one secret: valid on every node). */
  async function signIn(i: number, name: string, password: string): Promise<string> {
    const res = await fetch(`${nodes[i]!.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, password }),
    })
    assert.equal(res.status, 200)
    return /swb_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')![1]!
  }

  test('a stroke drawn on node 1 is seen on node 2 and is in the history a newcomer on node 2 loads', async () => {
    const channel = 'board:cluster'
    const stroke = { type: 'stroke', color: '#1f6feb', width: 4, points: [[0.1, 0.2]] }
    // The whiteboard is for signed-in users: a session token signs a Node client in.
    const fay = user(0, await signIn(0, 'ada', 'lovelace'))
    const gus = user(1, await signIn(1, 'grace', 'hopper'))
    const gusGot: unknown[] = []
    const fSub = fay.subscribe(channel)
    const gSub = gus.subscribe(channel, { onPublication: (p) => gusGot.push(p.data) })
    await until(
      () => fSub.state === 'subscribed' && gSub.state === 'subscribed',
      'both whiteboards subscribed',
    )
    await fay.publish(channel, stroke)
    await until(() => gusGot.length === 1, 'the stroke on node 2')
    assert.deepEqual(gusGot, [stroke])

    const hal = user(1, await signIn(0, 'linus', 'torvalds'))
    const history = await hal.history(channel, { limit: 100 })
    assert.deepEqual(
      history.publications.map((p) => p.data),
      [stroke],
    )
  })

  test('a stream ticket node 1 issues opens an SSE stream on node 2 (one SWITCHBOARD_SECRET)', async () => {
    const res = await fetch(`${nodes[0]!.url}/switchboard/ticket?channel=chat:cluster`, {
      method: 'POST',
      headers: { authorization: 'Bearer Ivy' },
    })
    const { ticket } = (await res.json()) as { ticket: string }
    const ctl = new AbortController()
    const stream = await fetch(
      `${nodes[1]!.url}/switchboard?channel=chat:cluster&ticket=${encodeURIComponent(ticket)}`,
      { signal: ctl.signal },
    )
    try {
      assert.equal(stream.status, 200)
      assert.match(stream.headers.get('content-type') ?? '', /text\/event-stream/)
    } finally {
      ctl.abort()
    }
  })

  test("each node's dashboard names its node and publishes on its own channel", async () => {
    const sources = await Promise.all(
      nodes.map(async (n) => (await (await fetch(`${n.url}/api/metrics`)).json()) as unknown),
    )
    assert.deepEqual(sources, [
      { node: 'node-1', channel: 'metrics:node-1' },
      { node: 'node-2', channel: 'metrics:node-2' },
    ])
    const viewer = user(1, 'viewer')
    await until(() => viewer.state === 'connected', 'the viewer connected')
    // The first sample comes one interval (1 s) after the start.
    const deadline = Date.now() + 5_000
    let own = await viewer.history('metrics:node-2', { limit: 5 })
    while (own.publications.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100))
      own = await viewer.history('metrics:node-2', { limit: 5 })
    }
    assert.ok(own.publications.length >= 1, 'node 2 has published samples')
    // Before the cluster work both nodes published on `metrics:server`, interleaving their figures.
    assert.equal((await viewer.history('metrics:server', { limit: 0 })).offset, 0)
  })
})
