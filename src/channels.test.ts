import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { test } from 'node:test'
import WebSocket from 'ws'
import { Switchboard } from './index.ts'
import { JSON_SUBPROTOCOL, readServerMessage, type ServerMessage } from './protocol/index.ts'
import { until } from './test-utils/wait.ts'

function sseReader(
  url: string,
): Promise<{ text: () => string; close: () => void; status: number }> {
  return new Promise((resolve, reject) => {
    let text = ''
    const req = httpRequest(url, { headers: { accept: 'text/event-stream' } }, (res) => {
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        text += c
      })
      resolve({ text: () => text, close: () => req.destroy(), status: res.statusCode ?? 0 })
    })
    req.on('error', reject)
    req.end()
  })
}

test('one endpoint path serves the WebSocket upgrade, the SSE stream and POST commands, with the same offset on both transports', async () => {
  const app = new Switchboard({ logger: false })
  app.channels.namespace('chat', { clientPublish: true, historySize: 50 })
  const { port } = await app.listen({ port: 0 })
  const ws = new WebSocket(`ws://127.0.0.1:${port}/switchboard`, JSON_SUBPROTOCOL)
  const inbox: ServerMessage[] = []
  ws.on('message', (d) => inbox.push(readServerMessage(JSON.parse(String(d)))!))
  await new Promise((r, j) => {
    ws.once('open', r)
    ws.once('error', j)
  })
  const sse = await sseReader(`http://127.0.0.1:${port}/switchboard?channel=chat:lobby`)
  try {
    assert.equal(sse.status, 200)
    ws.send(JSON.stringify({ id: 1, type: 'connect' }))
    ws.send(JSON.stringify({ id: 2, type: 'subscribe', channel: 'chat:lobby' }))
    await until(() => inbox.some((m) => (m as { id?: number }).id === 2), 'subscribe reply')
    await until(() => sse.text().includes('event: subscribe'), 'SSE subscribe')
    const res = await fetch(`http://127.0.0.1:${port}/switchboard`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 9, type: 'publish', channel: 'chat:lobby', data: { text: 'hi' } }),
    })
    assert.equal(res.status, 200)
    await until(
      () => inbox.some((m) => (m as { type?: string }).type === 'publication'),
      'WebSocket publication',
    )
    await until(() => sse.text().includes('event: publication'), 'SSE publication')
    const pub = inbox.find((m) => (m as { type?: string }).type === 'publication') as unknown as {
      offset: number
      data: unknown
    }
    assert.deepEqual(pub.data, { text: 'hi' })
    const line = sse
      .text()
      .split('\n')
      .find((l) => l.startsWith('data: ') && l.includes('"publication"'))!
    const ssePub = JSON.parse(line.slice(6)) as { offset: number; data: unknown }
    assert.equal(ssePub.offset, pub.offset)
    assert.deepEqual(ssePub.data, pub.data)
    // Server-side publish through app.hub reaches both too.
    await app.hub.publish('chat:lobby', { text: 'from server' })
    await until(
      () => inbox.filter((m) => (m as { type?: string }).type === 'publication').length === 2,
      'second publication',
    )
    await until(() => sse.text().includes('from server'), 'second SSE publication')
  } finally {
    sse.close()
    ws.close()
    await app.close({ graceful: 200 })
  }
})

test('the ticket endpoint issues a stream ticket the SSE stream accepts', async () => {
  const app = new Switchboard({ logger: false })
  app.channels.configure({ path: '/rt' }).namespace('news')
  const { port } = await app.listen({ port: 0 })
  try {
    const none = await fetch(`http://127.0.0.1:${port}/rt/ticket`, { method: 'POST' })
    assert.equal(none.status, 400, 'a ticket names the channels of its stream')
    const res = await fetch(`http://127.0.0.1:${port}/rt/ticket`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channels: ['news:today'] }),
    })
    const { ticket } = (await res.json()) as { ticket: string }
    assert.equal(typeof ticket, 'string')
    const sse = await sseReader(
      `http://127.0.0.1:${port}/rt?channel=news:today&ticket=${encodeURIComponent(ticket)}`,
    )
    assert.equal(sse.status, 200)
    sse.close()
    const bad = await sseReader(`http://127.0.0.1:${port}/rt?channel=news:today&ticket=forged`)
    assert.ok(bad.status >= 400, `forged ticket answered ${bad.status}`)
    bad.close()
    assert.throws(() => app.channels.configure({}), { code: 'SWB_ERR_INVALID_OPTION' })
  } finally {
    await app.close({ graceful: 200 })
  }
})

test('app.close() reaches a channel client as the hub shutdown code (3000, reconnect), not the transport 1001', async () => {
  const app = new Switchboard({ logger: false })
  app.channels.namespace('n')
  const { port } = await app.listen({ port: 0 })
  const ws = new WebSocket(`ws://127.0.0.1:${port}/switchboard`, JSON_SUBPROTOCOL)
  const inbox: ServerMessage[] = []
  ws.on('message', (d) => inbox.push(readServerMessage(JSON.parse(String(d)))!))
  await new Promise((r, j) => {
    ws.once('open', r)
    ws.once('error', j)
  })
  ws.send(JSON.stringify({ id: 1, type: 'connect' }))
  await until(() => inbox.some((m) => (m as { id?: number }).id === 1), 'connect reply')
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)))
  await app.close({ graceful: 500 })
  assert.equal(await closed, 3000)
})

test('configure() alone mounts the endpoint: a WebSocket upgrade and a POST command reach it before anything touches app.hub', async () => {
  const app = new Switchboard({ logger: false })
  app.channels.configure({ path: '/rt' })
  const { port } = await app.listen({ port: 0 })
  try {
    const post = await fetch(`http://127.0.0.1:${port}/rt`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 1, type: 'history', channel: 'nope:x' }),
    })
    const body = (await post.json()) as { error?: { code?: string } }
    assert.notEqual(body.error?.code, 'SWB_ERR_NOT_FOUND', 'the command endpoint is mounted')
    const ws = new WebSocket(`ws://127.0.0.1:${port}/rt`, JSON_SUBPROTOCOL)
    await new Promise((resolve, reject) => {
      ws.once('open', resolve)
      ws.once('error', reject)
    })
    ws.close()
  } finally {
    await app.close()
  }
})
