// The fuzz smoke run of `npm test`: every target over its seeds, every regression input a fuzz
// run found (fuzz/corpus/<target>/*.hex) and a few hundred mutations, then its fast-check
// properties for a few runs, and every target still bundles for the coverage-guided engine.
// The long runs are `npm run fuzz` (docs/fuzzing.md).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { bundle } from '../../fuzz/lib/bundle.ts'
import { runMutations } from '../../fuzz/lib/mutate.ts'
import { regressionInputs } from '../../fuzz/lib/regressions.ts'
import { properties } from '../../fuzz/properties.ts'
import { loadTarget, TARGETS } from '../../fuzz/targets/index.ts'

describe('fuzz smoke', () => {
  for (const name of TARGETS) {
    test(`${name}: its seeds, regression inputs and 300 mutations pass the oracles`, async () => {
      const target = await loadTarget(name)
      const regressions = regressionInputs(name)
      for (const r of regressions) await target.fuzz(Buffer.from(r.data)) // each crash found stays fixed
      const seeds = [...target.seeds(), ...regressions.map((r) => r.data)]
      const count = await runMutations(target.fuzz, seeds, { iterations: 300, ms: 3000, seed: 16 })
      assert.ok(count >= seeds.length)
    })

    test(`${name}: its fast-check properties hold for 20 runs`, async () => {
      for (const p of properties[name] ?? []) await fc.assert(p, { numRuns: 20, seed: 16 })
      assert.ok((properties[name] ?? []).length > 0)
    })
  }

  test('every target bundles to CommonJS for jsfuzz', async () => {
    for (const name of TARGETS) assert.match(await bundle(name), /target\.cjs$/)
  })
})
