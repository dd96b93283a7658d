// The client bundle the server serves at /switchboard/client.js (dist/client/), built for browser
// tests only when it is missing or older than its sources.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))

function newest(dir: string): number {
  let t = 0
  for (const name of readdirSync(dir)) {
    const full = join(dir, name)
    const st = statSync(full)
    t = Math.max(t, st.isDirectory() ? newest(full) : st.mtimeMs)
  }
  return t
}

/** Builds dist/client/switchboard-client.js when it is missing or older than src/client or src/protocol. */
export function ensureClientBundle(): void {
  const bundle = join(root, 'dist/client/switchboard-client.js')
  const sources = Math.max(newest(join(root, 'src/client')), newest(join(root, 'src/protocol')))
  if (existsSync(bundle) && statSync(bundle).mtimeMs >= sources) return
  const built = spawnSync(process.execPath, [join(root, 'scripts/build-client.mjs')], {
    encoding: 'utf8',
  })
  assert.equal(built.status, 0, built.stderr)
}
