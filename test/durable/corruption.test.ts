// A data directory whose files were truncated or garbled: the node starts, with a new epoch for
// every channel and a clear report, and never serves garbage. Each start runs in a child process,
// so a store that crashed on bad data would fail the test instead of killing the runner.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { promisify } from 'node:util'

const run = promisify(execFile)
const CHILD = new URL('./support/corrupt-child.ts', import.meta.url).pathname
const dirs: string[] = []
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
  for (const d of dirs)
    for (const f of readdirSync(tmpdir()))
      if (f.startsWith(`${d.split('/').pop()}.corrupt-`))
        rmSync(join(tmpdir(), f), { recursive: true, force: true })
})

interface Outcome {
  epochs: Record<string, string>
  served: number
  bad: number
  reported: string[]
  movedTo: string | null
}

async function child(mode: 'write' | 'read', dir: string): Promise<Outcome> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', CHILD, mode, dir], {
    timeout: 60_000,
  })
  return JSON.parse(stdout.trim().split('\n').pop()!) as Outcome
}

/** The largest file of the directory: where the data is. */
function dataFile(dir: string): string {
  const files = readdirSync(dir)
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile())
  files.sort((a, b) => statSync(b).size - statSync(a).size)
  return files[0]!
}

const damages: Record<string, (file: string) => void> = {
  'truncated to half': (file) => truncateSync(file, Math.floor(statSync(file).size / 2)),
  'garbled in the middle': (file) => {
    const size = statSync(file).size
    const fd = openSync(file, 'r+')
    writeSync(fd, randomBytes(4096), 0, 4096, Math.floor(size / 2 / 4096) * 4096)
    closeSync(fd)
  },
  'garbled at the start': (file) => {
    const fd = openSync(file, 'r+')
    writeSync(fd, randomBytes(4096), 0, 4096, 0)
    closeSync(fd)
  },
}

for (const [name, damage] of Object.entries(damages)) {
  test(`a data file ${name} makes the node start with new epochs and a clear report, serving no garbage`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swb-corrupt-'))
    dirs.push(dir)
    const written = await child('write', dir)
    const intact = await child('read', dir)
    assert.deepEqual(intact.epochs, written.epochs, 'an intact directory resumes its epochs')
    assert.equal(intact.served, 100 * 60)
    damage(dataFile(dir))
    const after = await child('read', dir)
    assert.equal(after.bad, 0, 'no garbage served')
    if (after.movedTo === null) {
      // The store noticed nothing wrong only if every record still checks out: then it must
      // serve the same epochs and the intact history.
      assert.deepEqual(after.epochs, written.epochs)
      assert.equal(after.served, 100 * 60)
    } else {
      assert.equal(after.reported.length, 1)
      assert.match(after.reported[0]!, /could not be read .*moved to .*new epoch/)
      for (const [channel, epoch] of Object.entries(after.epochs)) {
        assert.notEqual(epoch, written.epochs[channel], `${channel} has a new epoch`)
      }
      assert.equal(after.served, 0)
    }
  })
}
