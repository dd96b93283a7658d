import assert from 'node:assert/strict'
import { test } from 'node:test'
import type WebSocket from 'ws'
import type { ServerWebSocket } from './connection.ts'
import { prepareMessage } from './sender.ts'
import { open, serve } from './test-utils/test-support.ts'

function collect(c: WebSocket, n: number): Promise<string[]> {
  const got: string[] = []
  return new Promise((resolve) => {
    c.on('message', (d: Buffer) => {
      got.push(d.toString())
      if (got.length === n) resolve(got)
    })
  })
}

test('connections sent the same prepared messages in a turn each receive all of them in order', async () => {
  const conns: ServerWebSocket<undefined>[] = []
  const { url } = await serve((a) => a.ws('/ws', { open: (ws) => void conns.push(ws) }))
  const clients = await Promise.all([1, 2, 3, 4].map(() => open(`${url}/ws`)))
  while (conns.length < 4) await new Promise((r) => setTimeout(r, 5))
  const msgs = ['a', 'bb', 'ccc', 'x'.repeat(300)].map((m) => prepareMessage(m, false))
  const got = Promise.all(clients.map((c) => collect(c, 6)))
  // One turn: the first three outboxes hold the same frames (joined once, shared); the fourth
  // also gets a message of its own in between, so its outbox differs and is written as is.
  for (let i = 0; i < conns.length; i++) {
    const ws = conns[i]!
    ws.sendPrepared(msgs[0]!)
    ws.sendPrepared(msgs[1]!)
    if (i === 3) ws.send('own')
    else ws.sendPrepared(msgs[2]!)
    ws.sendPrepared(msgs[3]!)
    ws.sendPrepared(msgs[0]!)
    ws.send(`tail-${i}`)
  }
  const all = await got
  const big = 'x'.repeat(300)
  for (let i = 0; i < 3; i++) assert.deepEqual(all[i], ['a', 'bb', 'ccc', big, 'a', `tail-${i}`])
  assert.deepEqual(all[3], ['a', 'bb', 'own', big, 'a', 'tail-3'])
  for (const c of clients) c.close()
})

test('the same prepared messages sent again in the next turn arrive again, in order, on every connection', async () => {
  const conns: ServerWebSocket<undefined>[] = []
  const { url } = await serve((a) => a.ws('/ws', { open: (ws) => void conns.push(ws) }))
  const clients = await Promise.all([1, 2, 3].map(() => open(`${url}/ws`)))
  while (conns.length < 3) await new Promise((r) => setTimeout(r, 5))
  const msgs = Array.from({ length: 20 }, (_, i) => prepareMessage(`m${i}`, false))
  const got = Promise.all(clients.map((c) => collect(c, 40)))
  for (let turn = 0; turn < 2; turn++) {
    for (const ws of conns) for (const m of msgs) ws.sendPrepared(m)
    await new Promise((r) => setImmediate(r))
  }
  const want = [...msgs, ...msgs].map((_, i) => `m${i % 20}`)
  for (const g of await got) assert.deepEqual(g, want)
  for (const c of clients) c.close()
})

test('a prepared batch arrives whole and in order on every connection, behind what was queued before it, even when the array grows between turns', async () => {
  const conns: ServerWebSocket<undefined>[] = []
  const { url } = await serve((a) => a.ws('/ws', { open: (ws) => void conns.push(ws) }))
  const clients = await Promise.all([1, 2, 3].map(() => open(`${url}/ws`)))
  while (conns.length < 3) await new Promise((r) => setTimeout(r, 5))
  const batch = ['p', 'q', 'r'].map((m) => prepareMessage(m, false))
  const got = Promise.all(clients.map((c) => collect(c, 8)))
  for (let i = 0; i < conns.length; i++) {
    conns[i]!.send(`first-${i}`)
    conns[i]!.sendPreparedBatch(batch)
  }
  await new Promise((r) => setImmediate(r))
  // The same array, one message longer: the joined frames must not be the old ones.
  batch.push(prepareMessage('s', false))
  for (const ws of conns) ws.sendPreparedBatch(batch)
  const all = await got
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(all[i], [`first-${i}`, 'p', 'q', 'r', 'p', 'q', 'r', 's'])
  }
  for (const c of clients) c.close()
})

test('a prepared batch over the backpressure limit is refused like any send', async () => {
  let conn!: ServerWebSocket<undefined>
  const { url } = await serve((a) =>
    a.ws('/ws', {
      maxBackpressure: 1024,
      backpressurePolicy: 'drop',
      open: (ws) => {
        conn = ws
      },
    }),
  )
  const client = await open(`${url}/ws`)
  while (conn === undefined) await new Promise((r) => setTimeout(r, 5))
  const big = [prepareMessage('x'.repeat(2000), false)]
  assert.equal(conn.sendPreparedBatch(big), 0) // under the limit when it is queued
  assert.equal(conn.sendPreparedBatch(big), 2) // now over: dropped and counted
  assert.equal(conn.dropped, 1)
  client.close()
})

/**
 * Writes with `write` at once to an idle connection and to one with a frame queued, and checks
 * that nothing stays queued and that the queued frame went first.
 */
async function writtenAtOnce(
  write: (ws: ServerWebSocket<undefined>) => number,
  written: string[],
): Promise<void> {
  const conns: ServerWebSocket<undefined>[] = []
  const { url } = await serve((a) => a.ws('/ws', { open: (ws) => void conns.push(ws) }))
  const clients = await Promise.all([1, 2].map(() => open(`${url}/ws`)))
  while (conns.length < 2) await new Promise((r) => setTimeout(r, 5))
  const got = Promise.all(clients.map((c) => collect(c, written.length + 1)))
  const [idle, busy] = conns as [ServerWebSocket<undefined>, ServerWebSocket<undefined>]
  assert.equal(write(idle), 0)
  assert.equal(idle.bufferedAmount, 0, 'handed to the socket now, not at the end of the turn')
  idle.send('after')
  busy.send('before')
  assert.equal(write(busy), 0)
  assert.equal(busy.bufferedAmount, 0, 'the queued frame went out with it')
  assert.deepEqual(await got, [
    [...written, 'after'],
    ['before', ...written],
  ])
  for (const c of clients) c.close()
}

test('a batch written at once leaves nothing queued when the socket takes it, and goes behind what was queued', async () => {
  const batch = ['p', 'q'].map((m) => prepareMessage(m, false))
  await writtenAtOnce((ws) => ws.writePreparedBatch(batch), ['p', 'q'])
})

test('a prepared message written at once leaves nothing queued when the socket takes it, and goes behind what was queued', async () => {
  const message = prepareMessage('m', false)
  await writtenAtOnce((ws) => ws.writePrepared(message), ['m'])
})
