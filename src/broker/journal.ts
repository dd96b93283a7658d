import type { Publication } from '../protocol/index.ts'
import type { HistoryOptions } from './broker.ts'

/** One channel's stream as a journal last committed it. */
export interface JournalStream {
  readonly channel: string
  readonly epoch: string
  /** The last offset assigned (and committed) in the epoch. */
  readonly top: number
  /** The history limits last used, so trimming goes on after a restart. */
  readonly limits: HistoryOptions | undefined
  /** Kept publications in offset order. */
  readonly entries: Publication[]
}

/**
 * Where the in-process broker keeps its streams beyond the process, so a restarted node resumes
 * the same epochs and history (`DurableBroker`). Calls are made in offset order per channel, and
 * a journal commits them in the order made: `append` resolves once the publication, and every
 * call made before it, is on stable storage. Many calls of one event-loop turn share one commit
 * (group commit).
 */
export interface Journal {
  /** The streams to resume, trimmed to their limits at `now`. Called once, at start. */
  load(now: number): Promise<JournalStream[]>
  /** Stores one publication and the stream's position; resolves once committed. Without
   * `limits` (a channel that keeps no history) only marks the stream volatile: its offsets are
   * not followed from then on, and `load` leaves it out, so it comes back in a new epoch. */
  append(
    channel: string,
    epoch: string,
    publication: Publication,
    limits: HistoryOptions | undefined,
  ): Promise<void>
  /** Stores a stream's position with no publication (an epoch fixed by a read). */
  position(channel: string, epoch: string, top: number): Promise<void>
  /** Removes the kept publications of `channel` below `firstKept`. */
  trim(channel: string, firstKept: number): Promise<void>
  /** Forgets a channel's stream. */
  drop(channel: string): Promise<void>
  close(): Promise<void>
}
