import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { ClassicLevel } from 'classic-level'
import { isRecovered } from '../broker.ts'
import { runBrokerCases } from '../test-utils/broker.case.ts'
import { DurableBroker } from './durable-broker.ts'

const dirs: string[] = []
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'swb-durable-'))
  dirs.push(dir)
  return dir
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

runBrokerCases('durable', () => new DurableBroker({ dir: freshDir() }))

const noop = { onPublication() {}, onJoin() {}, onLeave() {}, onControl() {} }
const history = { size: 5, ttl: 60_000 }

test('a reopened durable broker resumes the same epoch with its history and offsets', async () => {
  const dir = freshDir()
  const first = new DurableBroker({ dir })
  await first.start(noop)
  let last = { offset: 0, epoch: '' }
  for (let i = 1; i <= 8; i++) last = await first.publish('chat:a', { i }, { history })
  const empty = await first.history('chat:empty', { limit: 0 })
  await first.close()

  const second = new DurableBroker({ dir })
  await second.start(noop)
  const h = await second.history('chat:a', { since: { offset: 5, epoch: last.epoch } })
  assert.equal(h.epoch, last.epoch)
  assert.deepEqual(
    h.publications.map((p) => p.data),
    [{ i: 6 }, { i: 7 }, { i: 8 }],
  )
  assert.ok(isRecovered({ offset: 5, epoch: last.epoch }, h))
  const all = await second.history('chat:a')
  assert.deepEqual(
    all.publications.map((p) => p.offset),
    [4, 5, 6, 7, 8],
    'size is kept on disk too',
  )
  const next = await second.publish('chat:a', { i: 9 }, { history })
  assert.deepEqual([next.offset, next.epoch], [9, last.epoch])
  const again = await second.history('chat:empty', { limit: 0 })
  assert.equal(again.epoch, empty.epoch, 'an epoch a read showed survives too')
  await second.close()
})

test('publications that expired while the node was down are not served after a restart', async () => {
  const dir = freshDir()
  let now = 1_000_000
  const first = new DurableBroker({ dir, now: () => now })
  await first.start(noop)
  await first.publish('t:a', 1, { history: { size: 10, ttl: 1_000 } })
  now += 500
  const kept = await first.publish('t:a', 2, { history: { size: 10, ttl: 1_000 } })
  await first.close()
  now += 700
  const second = new DurableBroker({ dir, now: () => now })
  await second.start(noop)
  const h = await second.history('t:a')
  assert.deepEqual([h.offset, h.epoch, h.publications.map((p) => p.data)], [2, kept.epoch, [2]])
  await second.close()
})

test('a data directory held by another live process is refused; a lock left by a dead one is taken over', async () => {
  const dir = freshDir()
  const holder = spawn('sleep', ['30'], { stdio: 'ignore' })
  try {
    writeFileSync(join(dir, 'switchboard.lock'), String(holder.pid))
    const refused = new DurableBroker({ dir })
    await assert.rejects(refused.start(noop), {
      code: 'SWB_ERR_BROKER_STORAGE',
      message: /in use by process/,
    })
  } finally {
    holder.kill('SIGKILL')
    await new Promise((r) => holder.once('exit', r))
  }
  // The holder is gone now: its lock is stale.
  const taken = new DurableBroker({ dir })
  await taken.start(noop)
  await taken.publish('l:a', 1, { history })
  await taken.close()
})

test('a channel that keeps no history is not followed on disk and comes back in a new epoch', async () => {
  const dir = freshDir()
  const first = new DurableBroker({ dir })
  await first.start(noop)
  const a = await first.publish('cursor:a', { x: 1 })
  const b = await first.publish('cursor:a', { x: 2 })
  assert.deepEqual([a.offset, b.offset, a.epoch], [1, 2, b.epoch])
  await first.close()
  const second = new DurableBroker({ dir })
  await second.start(noop)
  const c = await second.publish('cursor:a', { x: 3 })
  assert.notEqual(
    c.epoch,
    a.epoch,
    'its offsets were not stored, so none is reused in the old epoch',
  )
  await second.close()
})

test('an idempotency key applied before a restart still repeats its first result after it, within its window', async () => {
  const dir = freshDir()
  let now = 5_000_000
  const first = new DurableBroker({ dir, now: () => now })
  await first.start(noop)
  const a = await first.publish('idem:a', 'x', {
    history,
    idempotencyKey: 'k1',
    idempotencyWindow: 10_000,
  })
  await first.publish('idem:a', 'y', { history, idempotencyKey: 'k2', idempotencyWindow: 1_000 })
  await first.close()
  now += 5_000
  const second = new DurableBroker({ dir, now: () => now })
  await second.start(noop)
  const again = await second.publish('idem:a', 'x', {
    history,
    idempotencyKey: 'k1',
    idempotencyWindow: 10_000,
  })
  assert.deepEqual(again, { offset: a.offset, epoch: a.epoch, duplicate: true })
  const late = await second.publish('idem:a', 'y', {
    history,
    idempotencyKey: 'k2',
    idempotencyWindow: 1_000,
  })
  assert.deepEqual(
    [late.offset, late.duplicate],
    [3, false],
    'a key past its window is applied anew',
  )
  assert.equal((await second.history('idem:a')).publications.length, 3)
  await second.close()
})

test('expired history is reclaimed on disk while the node runs, not only at start', async () => {
  const dir = freshDir()
  let now = 9_000_000
  const broker = new DurableBroker({ dir, now: () => now, sweepInterval: 60_000 })
  await broker.start(noop)
  for (let i = 0; i < 20; i++)
    await broker.publish('exp:a', i, { history: { size: 100, ttl: 1_000 } })
  now += 2_000
  broker.sweep()
  // The sweep's deletions go out with the next turn's batch; a publication elsewhere waits for it.
  await broker.publish('exp:other', 0, { history })
  await broker.close()
  const raw = new ClassicLevel<string, Buffer>(dir, {
    keyEncoding: 'utf8',
    valueEncoding: 'buffer',
  })
  let kept = 0
  for await (const _ of raw.keys({ gte: 'p:exp:a\u0000', lt: 'p:exp:a\u0001' })) kept++
  await raw.close()
  assert.equal(kept, 0)
})

test('history removed and published again in one turn comes back after a restart with the new stream', async () => {
  const dir = freshDir()
  const first = new DurableBroker({ dir })
  await first.start(noop)
  await first.publish('rm:a', 1, { history })
  const [, again] = await Promise.all([
    first.removeHistory('rm:a'),
    first.publish('rm:a', 2, { history }),
  ])
  await first.close()
  const second = new DurableBroker({ dir })
  await second.start(noop)
  const h = await second.history('rm:a')
  assert.deepEqual(
    [h.epoch, h.offset, h.publications.map((p) => p.data)],
    [again.epoch, again.offset, [2]],
  )
  await second.close()
})
