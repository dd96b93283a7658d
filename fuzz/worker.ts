/**
 * One engine run of one target, in its own process so that the runner can stop a hang and cap
 * memory. Prints one JSON line per second (`{"count":N}`) and a last one with the result.
 *
 *   node --import tsx fuzz/worker.ts mutate <target> <ms> <seed> [corpusDir] [--trace file]
 *   node --import tsx fuzz/worker.ts props <target> <ms> <seed>
 *
 * `mutate` is deterministic for one seed and corpus: with `--trace`, each input is written to
 * `file` before it runs, which is how the runner captures the input of a hang.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { prng } from './lib/input.ts'
import { mutate } from './lib/mutate.ts'
import { regressionInputs, saveReproducer } from './lib/regressions.ts'
import { properties } from './properties.ts'
import { loadTarget } from './targets/index.ts'

const [engine, targetName, msText, seedText, ...rest] = process.argv.slice(2)
const ms = Number(msText)
const seed = Number(seedText)
const traceAt = rest.indexOf('--trace')
const trace = traceAt >= 0 ? rest[traceAt + 1] : undefined
const corpusDir = rest[0] !== undefined && rest[0] !== '--trace' ? rest[0] : undefined

let count = 0
const progress = setInterval(() => console.log(JSON.stringify({ count })), 1000)

function finish(result: Record<string, unknown>): never {
  clearInterval(progress)
  console.log(JSON.stringify({ count, ...result }))
  process.exit(result.crash ? 1 : 0)
}

async function runMutate(): Promise<void> {
  const target = await loadTarget(targetName!)
  const corpus = [...target.seeds(), ...regressionInputs(targetName!).map((r) => r.data)]
  if (corpusDir !== undefined && existsSync(corpusDir)) {
    for (const f of readdirSync(corpusDir).sort()) corpus.push(readFileSync(join(corpusDir, f)))
  }
  const rand = prng(seed)
  const deadline = Date.now() + ms
  const grown: Buffer[] = []
  let yielded = Date.now()
  let i = 0
  for (;;) {
    const input =
      i < corpus.length
        ? corpus[i]!
        : mutate(corpus[Math.floor(rand() * corpus.length)]!, corpus, rand)
    i++
    if (trace !== undefined) writeFileSync(trace, input)
    try {
      await target.fuzz(input)
    } catch (err) {
      const file = saveReproducer(targetName!, 'mutate', input)
      finish({ crash: String((err as Error).stack ?? err).slice(0, 4000), reproducer: file })
    }
    count++
    if (grown.length < 512 && rand() < 0.01) {
      grown.push(input)
      corpus.push(input)
    }
    // Check the clock every 64 inputs (Date.now() is not free at 100k inputs/s), and let the
    // progress line out every 250 ms: on a loaded machine 4096 inputs can take many seconds.
    if ((count & 63) === 0) {
      const now = Date.now()
      if (now > deadline) break
      if (now - yielded > 250) {
        yielded = now
        await new Promise(setImmediate)
      }
    }
  }
  finish({ crash: null })
}

async function runProps(): Promise<void> {
  const list = properties[targetName!]
  if (list === undefined) throw new Error(`no properties for ${targetName}`)
  const deadline = Date.now() + ms
  let round = 0
  while (Date.now() < deadline) {
    for (const p of list) {
      const runSeed = seed + round
      const r = await fc.check(p, { numRuns: 100, seed: runSeed })
      count += r.numRuns
      if (r.failed) {
        const file = saveReproducer(
          targetName!,
          'property',
          Buffer.from(JSON.stringify({ seed: runSeed, path: r.counterexamplePath })),
          'json',
        )
        finish({
          crash: `${String(r.errorInstance ?? 'property failed')}\ncounterexample: ${JSON.stringify(
            r.counterexample,
          )?.slice(0, 2000)}`,
          reproducer: file,
          seed: runSeed,
          path: r.counterexamplePath,
        })
      }
    }
    round++
  }
  finish({ crash: null })
}

if (engine === 'mutate') await runMutate()
else if (engine === 'props') await runProps()
else throw new Error(`unknown engine ${engine}`)
