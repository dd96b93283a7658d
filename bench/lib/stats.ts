// Small statistics helpers shared by the generator and the orchestrator.

/** Median of the finite numbers in `xs`; NaN when there are none. */
export function median(xs: readonly number[]): number {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b)
  if (v.length === 0) return Number.NaN
  const mid = v.length >> 1
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2
}

/**
 * A bounded latency sample: keeps at most `cap` values. Once full it keeps every k-th value
 * (reservoir by stride), so memory stays fixed however long a run is.
 */
export class Samples {
  readonly values: Float64Array
  count = 0
  private seen = 0
  private stride = 1

  constructor(cap = 500_000) {
    this.values = new Float64Array(cap)
  }

  add(v: number): void {
    this.seen++
    if (this.seen % this.stride !== 0) return
    if (this.count === this.values.length) {
      // Halve the sample: keep every other value and double the stride.
      for (let i = 0; i < this.count >> 1; i++) this.values[i] = this.values[i * 2]!
      this.count >>= 1
      this.stride *= 2
    }
    this.values[this.count++] = v
  }

  /** Percentile `p` in [0, 100]; NaN when empty. */
  percentile(p: number): number {
    if (this.count === 0) return Number.NaN
    const sorted = this.values.slice(0, this.count).sort()
    const idx = Math.min(this.count - 1, Math.max(0, Math.ceil((p / 100) * this.count) - 1))
    return sorted[idx]!
  }
}
