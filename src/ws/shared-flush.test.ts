import assert from 'node:assert/strict'
import { test } from 'node:test'
import type WebSocket from 'ws'
import type { ServerWebSocket } from './connection.ts'
import { prepareMessage } from './sender.ts'
import { open, serve } from './test-support.ts'

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
