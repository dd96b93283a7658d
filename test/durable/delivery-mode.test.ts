// `delivery: 'immediate'` delivers before the commit, so after a crash no epoch a client knows
// may go on: every stream continues in a new epoch with its history; a clean stop keeps epochs.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { DurableBroker } from '../../src/broker/durable/index.ts'

const CHILD = new URL('./support/early-child.ts', import.meta.url).pathname
const root = mkdtempSync(join(tmpdir(), 'swb-early-'))
after(() => rmSync(root, { recursive: true, force: true }))
const noop = { onPublication() {}, onJoin() {}, onLeave() {}, onControl() {} }

async function runChild(mode: 'clean' | 'crash', dir: string): Promise<string> {
  const out = await new Promise<string>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', CHILD, mode, dir],
      { timeout: 30_000 },
      (_e, stdout) => resolve(stdout),
    )
  })
  return (JSON.parse(out.trim()) as { epoch: string }).epoch
}

for (const mode of ['clean', 'crash'] as const) {
  test(`after a ${mode === 'clean' ? 'clean stop' : 'crash'} an immediate-delivery node ${mode === 'clean' ? 'keeps the epoch' : 'goes on in a new epoch'} with every acknowledged publication`, async () => {
    const dir = join(root, mode)
    const epoch = await runChild(mode, dir)
    const broker = new DurableBroker({ dir })
    await broker.start(noop)
    const h = await broker.history('early:a')
    assert.deepEqual(
      h.publications.map((p) => (p.data as { i: number }).i),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    )
    if (mode === 'clean') assert.equal(h.epoch, epoch)
    else assert.notEqual(h.epoch, epoch)
    const next = await broker.publish(
      'early:a',
      { i: 11 },
      { history: { size: 100, ttl: 600_000 } },
    )
    assert.deepEqual([next.offset, next.epoch], [11, h.epoch])
    await broker.close()
  })
}
