import assert from 'node:assert/strict'
import { test } from 'node:test'
import { getHeapStatistics } from 'node:v8'
import { enqueueFlush, type Flushable } from './flush-queue.ts'

class Counted implements Flushable {
  queued = false
  flushes = 0
  flush(): void {
    this.flushes++
  }
  afterFlush(): void {}
}

const turnEnded = () => new Promise((r) => setImmediate(r))

/** Median heap growth of one turn that queues every one of `streams` once. */
async function growthPerTurn(streams: number): Promise<number> {
  const all = Array.from({ length: streams }, () => new Counted())
  const grown: number[] = []
  for (let turn = 0; turn < 215; turn++) {
    const before = getHeapStatistics().used_heap_size
    // An indexed loop: for-of in this unoptimized async function makes an iterator result each.
    for (let i = 0; i < all.length; i++) enqueueFlush(all[i]!)
    await turnEnded()
    if (turn >= 200) grown.push(getHeapStatistics().used_heap_size - before) // warmed up
  }
  assert.ok(all.every((s) => s.flushes === 215 && !s.queued))
  grown.sort((a, b) => a - b)
  return grown[7]!
}

test('the flush queue keeps its lists: a turn queuing thousands of streams allocates nothing per stream', async () => {
  // Anything else running in the process (the TypeScript loader expires its disk cache in the
  // background on some Node versions) adds to the turns it overlaps: the measurement is taken
  // again when it comes out high, up to four times. Garbage the queue makes shows in every one.
  const seen: string[] = []
  for (let attempt = 0; attempt < 4; attempt++) {
    const few = await growthPerTurn(200)
    const many = await growthPerTurn(2000)
    const perStream = (many - few) / 1800
    seen.push(perStream.toFixed(1))
    // With `length = 0` between turns V8 dropped the list's storage: about 31 bytes per stream.
    if (perStream < 4) return
  }
  assert.fail(`bytes per stream and turn, in 4 measurements: ${seen.join(', ')}`)
})
