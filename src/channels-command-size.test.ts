import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Switchboard } from './index.ts'

const publish = (bytes: number) =>
  JSON.stringify({ id: 1, type: 'publish', channel: 'chat:a', data: 'x'.repeat(bytes) })

test('a POSTed command over maxCommandBytes is refused 413 SWB_ERR_PROTOCOL_MESSAGE_TOO_LARGE, as a WebSocket frame is, and nothing is published', async () => {
  const app = new Switchboard({ logger: false })
  app.channels.configure({ maxCommandBytes: 4096 })
  app.channels.namespace('chat', { clientPublish: true, historySize: 10 })
  const post = (body: string) =>
    app.request('/switchboard', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    })
  const big = await post(publish(5000))
  assert.equal(big.status, 413)
  assert.equal(
    ((await big.json()) as { error: { code: string } }).error.code,
    'SWB_ERR_PROTOCOL_MESSAGE_TOO_LARGE',
  )
  assert.equal(app.hub.stats.published, 0)
  const ok = await post(publish(3000))
  assert.equal(ok.status, 200)
  assert.equal(app.hub.stats.published, 1)
  await app.close()
})
