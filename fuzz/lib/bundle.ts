import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { FUZZ_DIR } from './regressions.ts'

const require = createRequire(import.meta.url)

/** Where runs keep their working files (bundles, the corpus jsfuzz grows): git-ignored. */
export const WORK_DIR = join(FUZZ_DIR, '.work')

/** Bundles a target to CommonJS (jsfuzz instruments what `require` loads). */
export async function bundle(target: string): Promise<string> {
  const esbuild = require('esbuild') as typeof import('esbuild')
  const dir = join(WORK_DIR, target)
  mkdirSync(dir, { recursive: true })
  const out = join(dir, 'target.cjs')
  await esbuild.build({
    stdin: {
      contents: `export { fuzz } from './targets/${target}.ts'`,
      resolveDir: FUZZ_DIR,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: out,
    external: ['msgpackr-extract'],
    logLevel: 'error',
  })
  return out
}
