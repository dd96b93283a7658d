/**
 * Regression inputs: every crash or hang a run found, kept as hex text in
 * `fuzz/corpus/<target>/*.hex` (reviewable in a diff). Runs start from them and the smoke test
 * replays them all, so a fixed bug stays fixed.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const FUZZ_DIR = fileURLToPath(new URL('..', import.meta.url))
export const CORPUS_DIR = join(FUZZ_DIR, 'corpus')

export function regressionInputs(target: string): { file: string; data: Buffer }[] {
  const dir = join(CORPUS_DIR, target)
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((f) => f.endsWith('.hex'))
    .sort()
    .map((f) => ({
      file: join(dir, f),
      data: Buffer.from(readFileSync(join(dir, f), 'utf8').replace(/\s+/g, ''), 'hex'),
    }))
}

/** Saves a reproducer (an input as `.hex`, a property's seed and path as `.json`); returns its path. */
export function saveReproducer(
  target: string,
  label: string,
  data: Uint8Array,
  ext: 'hex' | 'json' = 'hex',
): string {
  const dir = join(CORPUS_DIR, target)
  mkdirSync(dir, { recursive: true })
  const hash = createHash('sha256').update(data).digest('hex').slice(0, 12)
  const file = join(dir, `${label}-${hash}.${ext}`)
  writeFileSync(file, ext === 'hex' ? `${Buffer.from(data).toString('hex')}\n` : data)
  return file
}
