// The hub's `writeDelay` over real sockets, wired as applications wire it (`app.channels`).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import WebSocket from 'ws'
import { Switchboard } from './index.ts'
import { directWriteStats } from './net/direct-write.ts'
import {
  JSON_SUBPROTOCOL,
  type PublicationPush,
  readServerMessage,
  type ServerMessage,
} from './protocol/index.ts'
import { rawClient } from './sse/test-utils/stream-support.ts'
import { until } from './test-utils/wait.ts'

const DELAY = 250
const COUNT = 20

/** Socket writes made so far, through the direct path or the stream. */
const writes = () => directWriteStats.direct + directWriteStats.fallback

/** A subscriber of `channel` over `transport`; `offsets()` lists the publications it received. */
async function subscriber(
  port: number,
  transport: 'websocket' | 'sse',
  channel: string,
): Promise<{ offsets: () => number[]; close: () => void }> {
  if (transport === 'sse') {
    const { socket, text } = rawClient(
      port,
      `GET /switchboard?channel=${channel} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`,
    )
    await until(() => text().includes('event: subscribe'), 'the subscribe event')
    const offsets = () =>
      text()
        .split('\n\n')
        .filter((e) => e.includes('event: publication'))
        .map((e) => (JSON.parse(e.split('data: ')[1]!) as PublicationPush).offset)
    return { offsets, close: () => socket.destroy() }
  }
  const ws = new WebSocket(`ws://127.0.0.1:${port}/switchboard`, JSON_SUBPROTOCOL)
  const inbox: ServerMessage[] = []
  ws.on('message', (data: Buffer) => inbox.push(readServerMessage(JSON.parse(data.toString()))!))
  await new Promise((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
  })
  ws.send(JSON.stringify({ id: 1, type: 'connect' }))
  ws.send(JSON.stringify({ id: 2, type: 'subscribe', channel }))
  await until(() => inbox.some((m) => (m as { id?: number }).id === 2), 'the subscribe reply')
  const offsets = () =>
    inbox
      .filter((m) => (m as PublicationPush).type === 'publication')
      .map((m) => (m as PublicationPush).offset)
  return { offsets, close: () => ws.terminate() }
}

for (const transport of ['websocket', 'sse'] as const) {
  test(`with a writeDelay, ${COUNT} publications made in as many event-loop turns reach a ${transport} subscriber in order, in one or two writes`, async () => {
    const app = new Switchboard({ logger: false })
    app.channels.configure({ writeDelay: DELAY })
    app.channels.namespace('feed')
    const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
    const client = await subscriber(port, transport, 'feed:prices')
    try {
      await sleep(DELAY + 50) // nothing of the subscribe is still waiting
      const before = writes()
      const started = performance.now()
      for (let i = 0; i < COUNT; i++) {
        await app.hub.publish('feed:prices', { i })
        await new Promise((r) => setImmediate(r))
      }
      assert.ok(performance.now() - started < DELAY / 2, 'published well inside one window')
      await until(() => client.offsets().length === COUNT, 'every publication')
      assert.deepEqual(
        client.offsets(),
        Array.from({ length: COUNT }, (_, i) => i + 1),
      )
      const made = writes() - before
      assert.ok(made >= 1 && made <= 2, `${made} socket writes for ${COUNT} publications`)
    } finally {
      client.close()
      await app.close({ graceful: 200 })
    }
  })
}
