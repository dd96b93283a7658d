import assert from 'node:assert/strict'
import { test } from 'node:test'
import type {
  HistoryResult,
  Publication,
  PublicationPush,
  SubscribeResult,
} from '../protocol/index.ts'
import { Hub } from './hub.ts'
import { TestClient, turn } from './test-utils/test-client.ts'
import { sseFormat, type WireFormat, wsJsonFormat, wsMsgpackFormat } from './transport.ts'

/** The text a JSON WebSocket subscriber got for each publication push, in order. */
function pushTexts(c: TestClient): string[] {
  return c.transport.frames
    .filter((f) => f.publication)
    .map((f) => new TextDecoder().decode(f.data as Uint8Array))
}

test('a WebSocket publication push is [channel, offset, data]; only the channel’s first adds its epoch', async () => {
  const hub = new Hub({ namespaces: { m: { historySize: 10 } } })
  try {
    const c = await TestClient.connect(hub)
    const sub = (await c.request<SubscribeResult>({ type: 'subscribe', channel: 'm:a' })).result!
    await hub.publish('m:a', { n: 1 })
    await hub.publish('m:a', { n: 2 })
    await turn()
    assert.deepEqual(pushTexts(c), [
      `["m:a",1,{"n":1},{"epoch":"${sub.epoch}"}]`,
      '["m:a",2,{"n":2}]',
    ])
  } finally {
    await hub.close()
  }
})

test('after the stream is replaced, the next push names the new epoch and the frames keep it', async () => {
  const hub = new Hub({ namespaces: { m: { historySize: 10 } } })
  try {
    const c = await TestClient.connect(hub, undefined, sseFormat)
    const old = (await c.request<SubscribeResult>({ type: 'subscribe', channel: 'm:a' })).result!
    await hub.publish('m:a', 1)
    await hub.publish('m:a', 2)
    await hub.broker.removeHistory('m:a')
    await hub.publish('m:a', 3)
    await hub.publish('m:a', 4)
    await turn()
    const pushes = c.pushes<PublicationPush>('publication')
    assert.deepEqual(
      pushes.map((p) => [p.offset, p.epoch, p.data]),
      [
        [1, old.epoch, 1],
        [2, undefined, 2],
        [1, pushes[2]!.epoch, 3],
        [2, undefined, 4],
      ],
    )
    assert.ok(pushes[2]!.epoch !== undefined && pushes[2]!.epoch !== old.epoch)
    // Every frame still records its stream: SSE ids and gap markers are built from it.
    const epochs = c.transport.frames.filter((f) => f.publication).map((f) => f.epoch)
    assert.deepEqual(epochs, [old.epoch, old.epoch, pushes[2]!.epoch, pushes[2]!.epoch])
  } finally {
    await hub.close()
  }
})

/**
 * Every publication a client of `channel` gets, three ways: one recovered by its subscribe (it
 * was published before), one live push, and both again in a history answer.
 */
async function publicationsSeen(hub: Hub, channel: string, format: WireFormat) {
  await hub.publish(channel, 'before')
  const c = await TestClient.connect(hub, undefined, format)
  const top = await hub.history(channel, { limit: 0 })
  const sub = (
    await c.request<SubscribeResult & { publications?: Publication[] }>({
      type: 'subscribe',
      channel,
      since: { offset: 0, epoch: top.epoch },
    })
  ).result!
  assert.equal(sub.recovered, true)
  await hub.publish(channel, 'live')
  await turn()
  const h = (await c.request<HistoryResult>({ type: 'history', channel })).result!
  const got = [...sub.publications!, ...c.pushes<PublicationPush>('publication'), ...h.publications]
  assert.equal(got.length, 4)
  return got
}

test('without timestamps no publication a client gets carries time: live, recovered or history', async () => {
  const hub = new Hub({ namespaces: { m: { historySize: 10 } } })
  try {
    const got = await publicationsSeen(hub, 'm:a', wsMsgpackFormat)
    assert.equal(typeof (await hub.history('m:a')).publications[0]!.time, 'number', 'kept')
    for (const p of got) assert.equal('time' in p, false, JSON.stringify(p))
  } finally {
    await hub.close()
  }
})

test('with timestamps every publication a client gets carries the time the broker stored it', async () => {
  const hub = new Hub({ namespaces: { t: { historySize: 10, timestamps: true } } })
  try {
    const t0 = Date.now()
    const got = await publicationsSeen(hub, 't:a', wsJsonFormat)
    for (const p of got) {
      assert.equal(typeof p.time, 'number')
      assert.ok(p.time! >= t0 && p.time! <= Date.now())
    }
  } finally {
    await hub.close()
  }
})

test('the timestamps namespace option is off unless set', () => {
  const hub = new Hub()
  try {
    assert.equal(hub.namespace('a', {}).timestamps, false)
    assert.equal(hub.namespace('b', { timestamps: true }).timestamps, true)
  } finally {
    void hub.close()
  }
})
