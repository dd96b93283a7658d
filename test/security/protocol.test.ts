// Issue #19 items 5 (session ids), 6 (replies before close) and 7 (namespace names), over the
// real endpoint.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import WebSocket from 'ws'
import { MemoryTransport } from '../../src/hub/test-utils/memory-transport.ts'
import { turn } from '../../src/hub/test-utils/test-client.ts'
import { Hub, Switchboard } from '../../src/index.ts'
import { JSON_SUBPROTOCOL } from '../../src/protocol/index.ts'
import { until } from '../../src/test-utils/wait.ts'

describe('the channel endpoint', () => {
  const app = new Switchboard({ logger: false })
  let url = ''
  before(async () => {
    app.channels.namespace('chat', { clientPublish: true })
    app.channels.rpc('slow', () => new Promise((r) => setTimeout(() => r('done'), 100)))
    url = `ws://127.0.0.1:${(await app.listen({ port: 0 })).port}/switchboard`
  })
  after(() => app.close({ graceful: 100 }))

  async function open(): Promise<{ ws: WebSocket; inbox: Array<Record<string, unknown>> }> {
    const ws = new WebSocket(url, JSON_SUBPROTOCOL)
    const inbox: Array<Record<string, unknown>> = []
    ws.on('message', (d) => inbox.push(JSON.parse(String(d))))
    await new Promise((r, j) => {
      ws.once('open', r)
      ws.once('error', j)
    })
    ws.send(JSON.stringify({ id: 1, type: 'connect' }))
    await until(() => inbox.some((m) => m.id === 1), 'connect reply')
    return { ws, inbox }
  }

  test('a connection closed for a malformed frame first answers the commands it already received', async () => {
    const { ws, inbox } = await open()
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)))
    ws.send(JSON.stringify({ id: 2, type: 'rpc', method: 'slow' }))
    ws.send(JSON.stringify({ id: 3, type: 'ping' }))
    ws.send('{"id": 4, "type": ') // malformed: the connection ends with 3501
    ws.send(JSON.stringify({ id: 5, type: 'ping' })) // after the bad frame: not read
    assert.equal(await closed, 3501)
    const ids = inbox.filter((m) => typeof m.id === 'number').map((m) => m.id)
    assert.deepEqual(ids, [1, 3, 2], 'both owed replies came, and nothing after the bad frame')
    assert.deepEqual((inbox.find((m) => m.id === 2) as { result: unknown }).result, {
      data: 'done',
    })
    const last = inbox.at(-1) as { type?: string; code?: number }
    assert.deepEqual([last.type, last.code], ['disconnect', 3501], 'the disconnect push comes last')
  })

  test('a channel whose prefix cannot be a namespace is refused, not moved to the default namespace', async () => {
    const { ws, inbox } = await open()
    try {
      const names = [`${'n'.repeat(65)}:room`, 'a.b:room', 'user@x:room', 'a/b:room']
      let id = 10
      for (const channel of names) {
        ws.send(JSON.stringify({ id: ++id, type: 'subscribe', channel }))
      }
      await until(
        () => inbox.filter((m) => (m.id as number) > 10).length === names.length,
        'replies',
      )
      for (const m of inbox.filter((x) => (x.id as number) > 10)) {
        const error = m.error as { code: string; message: string }
        assert.equal(error?.code, 'SWB_ERR_CHANNEL_INVALID_NAME', JSON.stringify(m))
      }
      await assert.rejects(app.hub.publish(names[0]!, 'x'), {
        code: 'SWB_ERR_CHANNEL_INVALID_NAME',
        message: /before the first ':' must be a namespace name/,
      })
      assert.equal(app.hub.subscriberCount(names[0]!), 0)
    } finally {
      ws.close()
    }
  })
})

test('an oversized command also ends the session only after the owed replies (3503)', async () => {
  const hub = new Hub({ maxCommandBytes: 200 })
  hub.rpc('slow', () => new Promise((r) => setTimeout(() => r('done'), 50)))
  try {
    const t = new MemoryTransport()
    const session = hub.connect(t)
    session.receive(JSON.stringify({ id: 1, type: 'connect' }))
    await turn()
    session.receive(JSON.stringify({ id: 2, type: 'rpc', method: 'slow' }))
    session.receive(JSON.stringify({ id: 3, type: 'ping', pad: 'x'.repeat(300) }))
    assert.equal(t.closedWith, null, 'not closed while a reply is owed')
    await until(() => t.closedWith !== null, 'the close after the reply')
    assert.equal(t.closedWith!.code, 3503)
    const kinds = t.messages.map(
      (m) => (m as { id?: number; type?: string }).id ?? (m as { type: string }).type,
    )
    assert.deepEqual(kinds, [1, 2, 'disconnect'])
  } finally {
    await hub.close()
  }
})

test('session ids are random: 128 bits each, no shared prefix, no counter', async () => {
  const hub = new Hub()
  try {
    const ids = Array.from({ length: 2000 }, () => hub.connect(new MemoryTransport()).id)
    await turn()
    assert.equal(new Set(ids).size, ids.length)
    for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{22}$/)
    // A prefix-and-counter id shares its first characters with the next one; random ids almost
    // never share six (a 1 in 2^36 chance per pair).
    let shared = 0
    for (let i = 1; i < ids.length; i++)
      if (ids[i]!.slice(0, 6) === ids[i - 1]!.slice(0, 6)) shared++
    assert.equal(shared, 0)
  } finally {
    await hub.close()
  }
})
