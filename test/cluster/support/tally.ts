// What one client received on one channel, counted against what was published: publications
// `{ seq }` 1..count, where seq n is offset n of the channel's one epoch. Seqs in `optional`
// (published but never acknowledged, so they may or may not exist) are not lost when missing.
import type { GapContext, PublicationContext } from '../../../src/client/index.ts'

/** What a client's subscription saw, in arrival order. */
export interface Received {
  readonly publications: PublicationContext<{ seq: number }>[]
  readonly gaps: GapContext[]
  /** `subscribed` events with `recovered: false`. */
  unrecovered: number
}

/** Counts of one client on one channel. */
export interface Tally {
  /** Publications of 1..count never received (those in `optional` aside). */
  readonly lost: number
  /** Receptions beyond the first of a publication. */
  readonly duplicated: number
  /** Receptions whose seq is not above the one before. */
  readonly outOfOrder: number
  /** Receptions whose offset is not their seq, or whose epoch is not the first one seen. */
  readonly mismatched: number
  /** Lost publications that no gap signal names: a silent hole. */
  readonly silent: number
  /** Gap events plus `recovered: false` subscriptions: explicit "you missed something". */
  readonly signals: number
}

export function tally(
  r: Received,
  count: number,
  optional: ReadonlySet<number> = new Set(),
): Tally {
  const times = new Uint32Array(count + 1)
  let duplicated = 0
  let outOfOrder = 0
  let mismatched = 0
  let previous = 0
  const epoch = r.publications[0]?.epoch
  for (const p of r.publications) {
    const seq = p.data.seq
    if (p.offset !== seq || p.epoch !== epoch || seq < 1 || seq > count) mismatched++
    else if ((times[seq] = times[seq]! + 1) > 1) duplicated++
    if (seq <= previous) outOfOrder++
    previous = seq
  }
  let lost = 0
  let silent = 0
  for (let seq = 1; seq <= count; seq++) {
    if (times[seq] !== 0 || optional.has(seq)) continue
    lost++
    if (!r.gaps.some((g) => seq >= g.from && (g.to === null || seq <= g.to))) silent++
  }
  return {
    lost,
    duplicated,
    outOfOrder,
    mismatched,
    silent,
    signals: r.gaps.length + r.unrecovered,
  }
}
