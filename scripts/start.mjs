#!/usr/bin/env node
// `npm start`: builds the package when dist/ is missing or older than src/, then runs the
// showcase (examples/showcase/main.ts) in this same process, so signals reach it directly.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

function newestMtime(dir) {
  let newest = 0
  for (const name of readdirSync(dir)) {
    const full = join(dir, name)
    const st = statSync(full)
    newest = Math.max(newest, st.isDirectory() ? newestMtime(full) : st.mtimeMs)
  }
  return newest
}

const built = join(root, 'dist', 'index.js')
const stale =
  !existsSync(built) ||
  Math.max(newestMtime(join(root, 'src')), statSync(join(root, 'tsconfig.build.json')).mtimeMs) >
    statSync(built).mtimeMs
if (stale) {
  console.log('switchboard: building dist/ …')
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const out = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
    stdio: 'inherit',
  })
  if (out.status !== 0) {
    console.error('switchboard: the build failed')
    process.exit(out.status ?? 1)
  }
}
if (stale || !existsSync(join(root, 'dist', 'client', 'switchboard-client.js'))) {
  const out = spawnSync(process.execPath, [join(root, 'scripts', 'build-client.mjs')], {
    stdio: 'inherit',
  })
  if (out.status !== 0) {
    console.error('switchboard: the client bundle build failed')
    process.exit(out.status ?? 1)
  }
}

const { register } = await import('tsx/esm/api')
register()
await import(pathToFileURL(join(root, 'examples', 'showcase', 'main.ts')).href)
