/**
 * Reads a fuzzer's raw bytes as the choices of a structured input (in the manner of libFuzzer's
 * FuzzedDataProvider): configuration bytes first, the rest as data. Past the end every read
 * answers zero, so any byte string is a valid input and a mutation of one byte changes one choice.
 *
 * @example
 * const input = new FuzzInput(data)
 * const limit = input.pick([16, 1024])
 * const body = input.rest()
 */
export class FuzzInput {
  readonly data: Uint8Array
  pos = 0

  constructor(data: Uint8Array) {
    this.data = data
  }

  get remaining(): number {
    return this.data.length - this.pos
  }

  u8(): number {
    return this.pos < this.data.length ? this.data[this.pos++]! : 0
  }

  u16(): number {
    return (this.u8() << 8) | this.u8()
  }

  bool(): boolean {
    return (this.u8() & 1) === 1
  }

  pick<T>(options: readonly T[]): T {
    return options[this.u8() % options.length]!
  }

  /** Up to `n` next bytes (fewer at the end), as a copy the caller may mutate. */
  bytes(n: number): Buffer {
    const end = Math.min(this.data.length, this.pos + n)
    const out = Buffer.from(this.data.subarray(this.pos, end))
    this.pos = end
    return out
  }

  /** Every byte not read yet, as a copy. */
  rest(): Buffer {
    return this.bytes(this.remaining)
  }
}

/** A small deterministic PRNG (mulberry32), so one input always splits the same way. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Splits `buf` into chunks the way a network might deliver it: one piece, single bytes, or
 * random sizes, chosen by `seed`. Each chunk is a copy (parsers may mutate what they are given).
 */
export function splitChunks(buf: Uint8Array, seed: number): Buffer[] {
  const mode = seed & 3
  if (buf.length === 0) return []
  if (mode === 0) return [Buffer.from(buf)]
  const out: Buffer[] = []
  const rand = prng(seed)
  for (let i = 0; i < buf.length; ) {
    const n = mode === 1 ? 1 : 1 + Math.floor(rand() * (mode === 2 ? 8 : 300))
    out.push(Buffer.from(buf.subarray(i, i + n)))
    i += n
  }
  return out
}

/** Throws an oracle failure: the message names the target and what disagreed. */
export function fail(target: string, message: string, detail?: unknown): never {
  const suffix = detail === undefined ? '' : `\n${safeJson(detail)}`
  throw new Error(`[${target}] ${message}${suffix}`)
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x), 1).slice(0, 4000)
  } catch {
    return String(v)
  }
}
