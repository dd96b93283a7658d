import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { EventSource } from 'eventsource'
import { EXPECTED_MESSAGES, RETRY_MS, SECOND_ID, startFeedServer } from './feed-scenario.ts'

test('the eventsource package receives events, reconnects after retry with Last-Event-ID, and stops on 204', async () => {
  const server = await startFeedServer()
  const es = new EventSource(`${server.url}/feed`)
  const got: { type: string; data: string; lastEventId: string }[] = []
  const record = (e: MessageEvent) =>
    got.push({ type: e.type, data: e.data as string, lastEventId: e.lastEventId })
  es.addEventListener('message', record)
  es.addEventListener('named', record)
  const stopped = new Promise<void>((resolve) => {
    es.addEventListener('error', () => {
      if (es.readyState === EventSource.CLOSED) resolve()
    })
  })
  await Promise.race([
    stopped,
    sleep(5000).then(() => assert.fail('the client did not stop after 204')),
  ])
  assert.deepEqual(got, EXPECTED_MESSAGES)
  assert.deepEqual(server.resumedFrom, [undefined, SECOND_ID, '3'])
  const gap = server.arrivals[1]! - server.arrivals[0]!
  assert.ok(gap >= RETRY_MS * 0.75, `reconnected after ${gap} ms, retry was ${RETRY_MS}`)
  // After the 204 it stays closed: no fourth connection.
  await sleep(RETRY_MS * 3)
  assert.equal(server.resumedFrom.length, 3)
  es.close()
  await server.close()
})
