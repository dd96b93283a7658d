// A full disk under the durable broker, played by a file-size limit on the child process
// (RLIMIT_FSIZE, with SIGXFSZ ignored so writes fail with EFBIG): publish answers a coded error,
// and after a restart with room again every acknowledged publication is there, nothing corrupt.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { promisify } from 'node:util'

const run = promisify(execFile)
const CHILD = new URL('./support/fill-child.ts', import.meta.url).pathname
const dir = join(mkdtempSync(join(tmpdir(), 'swb-full-')), 'data')
after(() => rmSync(join(dir, '..'), { recursive: true, force: true }))

test('a full disk answers publish with SWB_ERR_BROKER_STORAGE (507) and loses no acknowledged publication', async () => {
  const filled = await run(
    'bash',
    [
      '-c',
      `trap '' XFSZ; ulimit -f 512; exec "$0" --import tsx "$1" fill "$2"`,
      process.execPath,
      CHILD,
      dir,
    ],
    { timeout: 60_000 },
  )
  const fill = JSON.parse(filled.stdout.trim()) as {
    acked: number
    last: number
    code: string
    status: number
  }
  assert.deepEqual([fill.code, fill.status], ['SWB_ERR_BROKER_STORAGE', 507])
  assert.ok(fill.acked > 10, `some publications fit first (${fill.acked})`)
  const read = await run(process.execPath, ['--import', 'tsx', CHILD, 'read', dir], {
    timeout: 60_000,
  })
  const after = JSON.parse(read.stdout.trim()) as {
    count: number
    first: number
    last: number
    again: { offset: number }
    moved: string | null
  }
  assert.equal(after.moved, null, 'nothing was corrupted')
  assert.deepEqual([after.count, after.first, after.last], [fill.acked, 1, fill.last])
  assert.equal(after.again.offset, fill.last + 1, 'publishing works again once there is room')
})
