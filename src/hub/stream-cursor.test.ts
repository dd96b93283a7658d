import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { test } from 'node:test'
import { Switchboard } from '../index.ts'
import { until } from '../test-utils/wait.ts'

interface SubscribeEvent {
  channel: string
  recovered?: boolean
}

/** Opens the channel stream of `app` with `headers`, and reads its `subscribe` events. */
async function openStream(
  port: number,
  query: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number
  subscribes: () => SubscribeEvent[]
  ids: () => string[]
  close: () => void
}> {
  return new Promise((resolve, reject) => {
    let text = ''
    const req = httpRequest(
      `http://127.0.0.1:${port}/switchboard?${query}`,
      { headers: { accept: 'text/event-stream', ...headers } },
      (res) => {
        res.setEncoding('utf8')
        res.on('data', (c: string) => {
          text += c
        })
        resolve({
          status: res.statusCode ?? 0,
          subscribes: () =>
            [...text.matchAll(/^data: (\{"type":"subscribe".*)$/gm)].map(
              (m) => JSON.parse(m[1]!) as SubscribeEvent,
            ),
          ids: () => [...text.matchAll(/^id: (.*)$/gm)].map((m) => m[1]!),
          close: () => req.destroy(),
        })
      },
    )
    req.on('error', reject)
    req.end()
  })
}

async function serve(): Promise<{ app: Switchboard; port: number }> {
  const app = new Switchboard({ logger: false })
  app.channels.namespace('feed', { historySize: 10 })
  const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
  await app.hub.publish('feed:a', 1)
  await app.hub.publish('feed:b', 1)
  return { app, port }
}

const TWO = 'channel=feed:a&channel=feed:b'

test('a Last-Event-ID the server could not have written tells every channel of the stream recovered: false', async () => {
  const { app, port } = await serve()
  try {
    for (const id of [
      'garbage',
      '2,0.1.e',
      '1,0.1',
      '1,7.1.e',
      '1,0.1.e,0.2.e',
      '1,0.1.e, 1,0.1.e',
    ]) {
      const stream = await openStream(port, TWO, { 'last-event-id': id })
      try {
        assert.equal(stream.status, 200)
        await until(() => stream.subscribes().length === 2, `two subscribe events for ${id}`)
        for (const s of stream.subscribes()) {
          assert.equal(s.recovered, false, `${s.channel} after Last-Event-ID ${JSON.stringify(id)}`)
        }
      } finally {
        stream.close()
      }
    }
  } finally {
    await app.close({ graceful: 200 })
  }
})

test('a lastEventId query parameter the server could not have written tells every channel recovered: false', async () => {
  const { app, port } = await serve()
  try {
    const stream = await openStream(port, `${TWO}&lastEventId=${encodeURIComponent('1,~.1.e')}`)
    try {
      await until(() => stream.subscribes().length === 2, 'two subscribe events')
      assert.deepEqual(
        stream.subscribes().map((s) => [s.channel, s.recovered]),
        [
          ['feed:a', false],
          ['feed:b', false],
        ],
      )
    } finally {
      stream.close()
    }
  } finally {
    await app.close({ graceful: 200 })
  }
})

test('an id the stream wrote resumes with recovered: true, and a stream without one says nothing of recovery', async () => {
  const { app, port } = await serve()
  try {
    const first = await openStream(port, TWO)
    let id: string
    try {
      await until(() => first.subscribes().length === 2, 'first stream subscribed')
      assert.deepEqual(
        first.subscribes().map((s) => s.recovered),
        [undefined, undefined],
      )
      id = first.ids().at(-1)!
    } finally {
      first.close()
    }
    const again = await openStream(port, TWO, { 'last-event-id': id })
    try {
      await until(() => again.subscribes().length === 2, 'resumed stream subscribed')
      assert.deepEqual(
        again.subscribes().map((s) => s.recovered),
        [true, true],
      )
    } finally {
      again.close()
    }
  } finally {
    await app.close({ graceful: 200 })
  }
})
