/**
 * A small mutation-based runner, in-process: the seeds, then mutations of them (bit flips, byte
 * sets, inserts, deletes, splices, interesting values). The smoke test uses it; the long runs
 * use jsfuzz, which adds coverage guidance on top of the same idea.
 */
import { prng } from './input.ts'

export type FuzzFn = (data: Buffer) => void | Promise<void>

const INTERESTING = [0, 1, 0x7d, 0x7e, 0x7f, 0x80, 0xff, 0xc0, 0xe0, 0xed, 0xf0, 0xf4, 0x0a, 0x2c]

/** One mutation of `base` (or of two corpus entries spliced), at most `max` bytes long. */
export function mutate(base: Buffer, corpus: readonly Buffer[], rand: () => number, max = 4096) {
  const out = Array.from(base)
  const n = 1 + Math.floor(rand() * 4)
  for (let k = 0; k < n; k++) {
    const at = Math.floor(rand() * (out.length + 1))
    switch (Math.floor(rand() * 7)) {
      case 0:
        if (out.length > 0) out[at % out.length]! ^= 1 << Math.floor(rand() * 8)
        break
      case 1:
        if (out.length > 0) out[at % out.length] = Math.floor(rand() * 256)
        break
      case 2:
        out.splice(at, 0, ...Array.from({ length: 1 + Math.floor(rand() * 8) }, () => rand() * 256))
        break
      case 3:
        out.splice(at, 1 + Math.floor(rand() * 8))
        break
      case 4:
        if (out.length > 0) out[at % out.length] = INTERESTING[Math.floor(rand() * 14)]!
        break
      case 5: {
        const other = corpus[Math.floor(rand() * corpus.length)]
        if (other !== undefined && other.length > 0) {
          const from = Math.floor(rand() * other.length)
          out.splice(at, 0, ...other.subarray(from, from + 1 + Math.floor(rand() * 64)))
        }
        break
      }
      default: {
        const from = Math.floor(rand() * (out.length + 1))
        out.splice(at, 0, ...out.slice(from, from + 1 + Math.floor(rand() * 16)))
      }
    }
  }
  return Buffer.from(out.slice(0, max).map((b) => b & 0xff))
}

/**
 * Runs `fn` over the seeds, then over mutations until `iterations` inputs or `ms` milliseconds.
 * Returns the number of inputs run; throws the first failure with its input attached.
 */
export async function runMutations(
  fn: FuzzFn,
  seeds: readonly Buffer[],
  opts: { iterations: number; ms: number; seed: number },
): Promise<number> {
  const rand = prng(opts.seed)
  const corpus = seeds.length > 0 ? [...seeds] : [Buffer.alloc(0)]
  const deadline = Date.now() + opts.ms
  let count = 0
  const run = async (input: Buffer) => {
    count++
    try {
      await fn(input)
    } catch (err) {
      ;(err as { input?: string }).input = input.toString('hex')
      throw err
    }
  }
  for (const s of seeds) await run(s)
  while (count < opts.iterations && Date.now() < deadline) {
    const base = corpus[Math.floor(rand() * corpus.length)]!
    const input = mutate(base, corpus, rand)
    await run(input)
    if (corpus.length < 256 && rand() < 0.05) corpus.push(input)
  }
  return count
}
