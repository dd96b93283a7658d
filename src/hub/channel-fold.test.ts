import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { DurableBroker } from '../broker/durable/index.ts'
import { MemoryBroker, MemoryCluster } from '../broker/index.ts'
import { SwitchboardError } from '../errors/index.ts'
import { ChannelFold, type FoldLoss } from './channel-fold.ts'
import { Hub } from './hub.ts'

const namespaces = { log: { historySize: 1000, historyTtl: 3_600_000 } }

/** A sum of `n`s that refuses negatives: `apply` throws before it changes anything. */
function sum(hub: Hub, losses: FoldLoss[] = [], pageSize?: number) {
  return new ChannelFold(hub, 'log:sum', {
    initial: () => ({ total: 0, count: 0 }),
    apply: (state, data: { n: number }) => {
      if (data.n < 0) throw new SwitchboardError('APP_ERR_NEGATIVE', `${data.n} is negative`)
      state.total += data.n
      state.count++
      return state.total
    },
    onLoss: (loss) => losses.push(loss),
    ...(pageSize === undefined ? {} : { pageSize }),
  })
}

test('a fold applies every publication of the channel once, in order, also ones published without it', async () => {
  const hub = new Hub({ namespaces })
  try {
    const order: number[] = []
    const fold = new ChannelFold(hub, 'log:order', {
      initial: () => order,
      apply: (state, data: number) => state.push(data),
    })
    for (let n = 1; n <= 5; n++) await hub.publish('log:order', n)
    assert.deepEqual(await fold.read(), [1, 2, 3, 4, 5])
    assert.deepEqual(await fold.read(), [1, 2, 3, 4, 5], 'a second read applies nothing again')
    assert.equal(fold.position.offset, 5)
  } finally {
    await hub.close()
  }
})

test('append answers with its own publication applied and what apply returned for it', async () => {
  const hub = new Hub({ namespaces })
  try {
    const fold = sum(hub)
    const first = await fold.append({ n: 2 })
    assert.deepEqual([first.offset, first.result, first.state], [1, 2, { total: 2, count: 1 }])
    // Appends racing on one node each get their own entry's result.
    const results = await Promise.all([3, 4, 5].map((n) => fold.append({ n })))
    assert.deepEqual(
      results.map((r) => [r.offset, r.result]),
      [
        [2, 5],
        [3, 9],
        [4, 14],
      ],
    )
    assert.deepEqual(fold.state, { total: 14, count: 4 })
  } finally {
    await hub.close()
  }
})

test("append's result is its own entry's even when another node's entry follows it before the catch-up", async () => {
  const hub = new Hub({ namespaces })
  try {
    // Another node appends right after this one's publish, before this node reads the log.
    const racing = {
      history: hub.history.bind(hub),
      publish: async (channel: string, data: unknown) => {
        const mine = await hub.publish(channel, data)
        await hub.publish(channel, { n: 100 })
        return mine
      },
    }
    const fold = new ChannelFold(racing, 'log:sum', {
      initial: () => ({ total: 0 }),
      apply: (state, data: { n: number }) => (state.total += data.n),
    })
    const mine = await fold.append({ n: 1 })
    assert.deepEqual([mine.offset, mine.result, mine.state], [1, 1, { total: 101 }])
  } finally {
    await hub.close()
  }
})

test('an entry apply refuses counts on no node, and its append rejects with the error', async () => {
  const cluster = new MemoryCluster()
  const a = new Hub({ broker: new MemoryBroker({ cluster }), namespaces })
  const b = new Hub({ broker: new MemoryBroker({ cluster }), namespaces })
  try {
    const [onA, onB] = [sum(a), sum(b)]
    await onA.append({ n: 1 })
    await assert.rejects(onA.append({ n: -7 }), { code: 'APP_ERR_NEGATIVE' })
    await onB.append({ n: 2 })
    assert.deepEqual(await onA.read(), { total: 3, count: 2 })
    assert.deepEqual(await onB.read(), { total: 3, count: 2 })
    assert.equal(onB.position.offset, 3, 'the refused entry stays in the log, applied by nobody')
  } finally {
    await Promise.all([a.close(), b.close()])
  }
})

test('two nodes appending at once both count every entry once and agree on the state', async () => {
  const cluster = new MemoryCluster()
  const hubs = [0, 1].map(() => new Hub({ broker: new MemoryBroker({ cluster }), namespaces }))
  try {
    const folds = hubs.map((h) => sum(h))
    const appends = Array.from({ length: 40 }, (_, i) => folds[i % 2]!.append({ n: i + 1 }))
    const offsets = (await Promise.all(appends)).map((r) => r.offset).sort((x, y) => x - y)
    assert.deepEqual(
      offsets,
      Array.from({ length: 40 }, (_, i) => i + 1),
    )
    for (const fold of folds) assert.deepEqual(await fold.read(), { total: 820, count: 40 })
  } finally {
    await Promise.all(hubs.map((h) => h.close()))
  }
})

test('on the durable broker a new process folds the same state from the log', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'swb-fold-'))
  try {
    const first = new Hub({ broker: new DurableBroker({ dir }), namespaces })
    await sum(first).append({ n: 4 })
    await sum(first).append({ n: 5 })
    await first.close()
    const second = new Hub({ broker: new DurableBroker({ dir }), namespaces })
    try {
      const fold = sum(second)
      assert.deepEqual(await fold.read(), { total: 9, count: 2 })
      assert.equal((await fold.append({ n: 1 })).offset, 3, 'the log goes on where it stopped')
    } finally {
      await second.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a replaced stream is reported and folded again from initial()', async () => {
  const broker = new MemoryBroker()
  const hub = new Hub({ broker, namespaces })
  try {
    const losses: FoldLoss[] = []
    const fold = sum(hub, losses)
    await fold.append({ n: 10 })
    const before = fold.position.epoch
    await broker.removeHistory('log:sum')
    await hub.publish('log:sum', { n: 1 })
    assert.deepEqual(await fold.read(), { total: 1, count: 1 })
    assert.notEqual(fold.position.epoch, before)
    assert.deepEqual(losses, [
      { reason: 'replaced', channel: 'log:sum', epoch: fold.position.epoch },
    ])
  } finally {
    await hub.close()
  }
})

test('entries trimmed from history before the fold read them are reported, the rest applied', async () => {
  const hub = new Hub({ namespaces: { log: { historySize: 3 } } })
  try {
    const losses: FoldLoss[] = []
    for (let n = 1; n <= 5; n++) await hub.publish('log:sum', { n })
    const fold = sum(hub, losses)
    assert.deepEqual(await fold.read(), { total: 12, count: 3 })
    assert.deepEqual(losses, [{ reason: 'trimmed', channel: 'log:sum', from: 1, to: 2 }])
  } finally {
    await hub.close()
  }
})

test('a log longer than a page is read in pages', async () => {
  const hub = new Hub({ namespaces })
  try {
    for (let n = 1; n <= 7; n++) await hub.publish('log:sum', { n })
    const fold = sum(hub, [], 2)
    assert.deepEqual(await fold.read(), { total: 28, count: 7 })
  } finally {
    await hub.close()
  }
})

test('a retried append with the same idempotency key is applied once', async () => {
  const hub = new Hub({ namespaces })
  try {
    const fold = sum(hub)
    const first = await fold.append({ n: 3 }, { idempotencyKey: 'k1' })
    const again = await fold.append({ n: 3 }, { idempotencyKey: 'k1' })
    assert.equal(again.duplicate, true)
    assert.equal(again.offset, first.offset)
    assert.equal(again.result, undefined, 'the retry applied nothing')
    assert.deepEqual(again.state, { total: 3, count: 1 })
  } finally {
    await hub.close()
  }
})

test('options are checked once, with a message naming the option', () => {
  const hub = new Hub({ namespaces })
  const apply = () => {}
  const initial = () => ({})
  for (const [options, name] of [
    [{ apply }, /initial/],
    [{ initial }, /apply/],
    [{ initial, apply, onLoss: 1 }, /onLoss/],
    [{ initial, apply, pageSize: 0 }, /pageSize/],
    [{ initial, apply, pageSize: 1.5 }, /pageSize/],
  ] as const) {
    assert.throws(
      () => new ChannelFold(hub, 'log:x', options as never),
      (err: SwitchboardError) => err.code === 'SWB_ERR_INVALID_OPTION' && name.test(err.message),
    )
  }
})

test('a stream replaced on every read fails the call with SWB_ERR_BROKER_UNAVAILABLE, and a later call can succeed', async () => {
  let epoch = 0
  let churn = true
  const hub = {
    publish: async () => ({ offset: 1, epoch: 'e' }),
    history: async () => ({
      offset: 0,
      epoch: churn ? `e${++epoch}` : 'stable',
      publications: [],
    }),
  }
  const fold = new ChannelFold(hub, 'log:churn', { initial: () => ({}), apply: () => {} })
  await assert.rejects(fold.read(), { code: 'SWB_ERR_BROKER_UNAVAILABLE' })
  churn = false
  assert.deepEqual(await fold.read(), {})
  assert.deepEqual(fold.position, { offset: 0, epoch: 'stable' })
})

test('a broker error fails the call, keeps what was applied before it, and the next call goes on from there', async () => {
  const real = new Hub({ namespaces })
  try {
    for (let n = 1; n <= 5; n++) await real.publish('log:sum', { n })
    let calls = 0
    const flaky = {
      publish: real.publish.bind(real),
      history: (channel: string, options: Parameters<Hub['history']>[1]) => {
        // The first call learns the epoch, the second reads a page, the third fails.
        if (++calls === 3) return Promise.reject(new Error('broker down'))
        return real.history(channel, options)
      },
    }
    const fold = new ChannelFold(flaky, 'log:sum', {
      initial: () => ({ total: 0, count: 0 }),
      apply: (state, data: { n: number }) => {
        state.total += data.n
        state.count++
      },
      pageSize: 2,
    })
    await assert.rejects(fold.read(), /broker down/)
    assert.deepEqual(fold.state, { total: 3, count: 2 })
    assert.deepEqual(await fold.read(), { total: 15, count: 5 }, 'nothing applied twice')
  } finally {
    await real.close()
  }
})
