import assert from 'node:assert/strict'
import { test } from 'node:test'
import WebSocket from 'ws'
import { Switchboard } from '../index.ts'
import { JSON_SUBPROTOCOL } from '../protocol/index.ts'
import { until } from '../test-utils/wait.ts'
import { resolveLimits } from './hub-options.ts'
import { RpcDeadlines } from './rpc-deadlines.ts'

interface Reply {
  id: number
  result?: { data?: unknown }
  error?: { code: string; message: string }
}

const TIMEOUT = 300

async function serve(): Promise<{ app: Switchboard; port: number; stuck: { calls: number } }> {
  const app = new Switchboard({ logger: false })
  app.channels.configure({ rpcTimeout: TIMEOUT, sweepInterval: 20, maxInflight: 1 })
  const stuck = { calls: 0 }
  app.channels.rpc('stuck', () => {
    stuck.calls++
    return new Promise(() => {}) // never settles
  })
  app.channels.rpc('fast', (data) => ({ echo: data }))
  const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, port, stuck }
}

test('a stuck rpc handler is answered SWB_ERR_RPC_TIMEOUT at the timeout and its in-flight slot is freed', async () => {
  const { app, port, stuck } = await serve()
  const ws = new WebSocket(`ws://127.0.0.1:${port}/switchboard`, JSON_SUBPROTOCOL)
  const replies = new Map<number, { reply: Reply; at: number }>()
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as Reply
    if (typeof m.id === 'number') replies.set(m.id, { reply: m, at: Date.now() })
  })
  try {
    await new Promise((resolve, reject) => {
      ws.once('open', resolve)
      ws.once('error', reject)
    })
    ws.send(JSON.stringify({ id: 1, type: 'connect' }))
    await until(() => replies.has(1), 'connect reply')
    const sent = Date.now()
    ws.send(JSON.stringify({ id: 2, type: 'rpc', method: 'stuck', data: null }))
    // maxInflight is 1: while the stuck call holds the only slot, the next command is refused.
    ws.send(JSON.stringify({ id: 3, type: 'rpc', method: 'fast', data: 1 }))
    await until(() => replies.has(3), 'refusal of the second rpc')
    assert.equal(replies.get(3)!.reply.error?.code, 'SWB_ERR_PROTOCOL_TOO_MANY_REQUESTS')
    assert.equal(stuck.calls, 1)

    await until(() => replies.has(2), 'timeout reply of the stuck rpc', TIMEOUT + 2000)
    const { reply, at } = replies.get(2)!
    assert.equal(reply.error?.code, 'SWB_ERR_RPC_TIMEOUT')
    assert.match(reply.error!.message, /stuck/)
    const waited = at - sent
    assert.ok(
      waited >= TIMEOUT - 5,
      `answered after ${waited} ms, before the ${TIMEOUT} ms timeout`,
    )
    assert.ok(waited < TIMEOUT + 1000, `answered after ${waited} ms`)

    // The slot is free again: the same connection's next rpc runs.
    ws.send(JSON.stringify({ id: 4, type: 'rpc', method: 'fast', data: 2 }))
    await until(() => replies.has(4), 'reply of the rpc after the timeout')
    assert.deepEqual(replies.get(4)!.reply.result, { data: { echo: 2 } })
  } finally {
    ws.close()
    await app.close({ graceful: 200 })
  }
})

test('a stuck rpc over HTTP POST is answered 504 SWB_ERR_RPC_TIMEOUT', async () => {
  const { app, port } = await serve()
  try {
    const res = await fetch(`http://127.0.0.1:${port}/switchboard`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 7, type: 'rpc', method: 'stuck', data: null }),
      signal: AbortSignal.timeout(TIMEOUT + 3000),
    })
    assert.equal(res.status, 504)
    const body = (await res.json()) as Reply
    assert.equal(body.id, 7)
    assert.equal(body.error?.code, 'SWB_ERR_RPC_TIMEOUT')
  } finally {
    await app.close({ graceful: 200 })
  }
})

test('rpcTimeout defaults to 30 s and must be a positive integer', () => {
  assert.equal(resolveLimits({}).rpcTimeout, 30_000)
  assert.equal(resolveLimits({ rpcTimeout: 5 }).rpcTimeout, 5)
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => resolveLimits({ rpcTimeout: bad }), /rpcTimeout/)
  }
})

test('the deadline sweep answers only the calls that are due, and forgets the ones that settled', async () => {
  let now = 1000
  const deadlines = new RpcDeadlines(100, () => now)
  const outcomes: string[] = []
  const track = (name: string, work: Promise<unknown>) =>
    deadlines.race(work, name).then(
      () => outcomes.push(`${name}: ok`),
      (err: { code: string }) => outcomes.push(`${name}: ${err.code}`),
    )
  let settle!: () => void
  const a = track('a', new Promise(() => {}))
  const b = track('b', new Promise<void>((r) => (settle = r)))
  now = 1050
  const c = track('c', new Promise(() => {}))
  assert.equal(deadlines.size, 3)
  settle()
  await b
  assert.equal(deadlines.size, 2, 'a settled call leaves the sweep')
  now = 1100
  deadlines.sweep(now)
  await a
  assert.deepEqual(outcomes, ['b: ok', 'a: SWB_ERR_RPC_TIMEOUT'])
  assert.equal(deadlines.size, 1, 'c is not due yet')
  now = 1150
  deadlines.sweep(now)
  await c
  assert.deepEqual(outcomes, ['b: ok', 'a: SWB_ERR_RPC_TIMEOUT', 'c: SWB_ERR_RPC_TIMEOUT'])
  assert.equal(deadlines.size, 0)
})
