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

/** An applied idempotency key (`name` is `channel \0 key`) and the result it repeats. */
export interface JournalKey {
  readonly name: string
  readonly offset: number
  readonly epoch: string
  /** Ms since the Unix epoch when the key's window ends. */
  readonly expires: number
}

/**
 * Where the in-process broker keeps its streams beyond the process, so a restarted node resumes
 * the same epochs and history (`DurableBroker`). Calls are made in offset order per channel, and
 * a journal commits them in the order made: `append` resolves once the publication, and every
 * call made before it, is on stable storage. Many calls of one event-loop turn share one commit
 * (group commit).
 */
export interface Journal {
  /** Whether the broker delivers a publication before it is committed (and only answers its
   * publish after). The journal then starts every stream in a new epoch after an unclean stop,
   * because a client may have seen a publication the crash lost. */
  readonly deliversEarly: boolean
  /** The streams to resume, trimmed to their limits at `now`, and the idempotency keys still
   * in their window (oldest first). Called once, at start. */
  load(now: number): Promise<{ streams: JournalStream[]; keys: JournalKey[] }>
  /** Stores one publication and the stream's position; resolves once committed. Without
   * `limits` (a channel that keeps no history) only marks the stream volatile: its offsets are
   * not followed from then on, and `load` leaves it out, so it comes back in a new epoch. */
  append(
    channel: string,
    epoch: string,
    publication: Publication,
    limits: HistoryOptions | undefined,
    key?: JournalKey,
  ): Promise<void>
  /** Forgets an idempotency key (its window ended). */
  forgetKey(name: string): Promise<void>
  /** Stores a stream's position with no publication (an epoch fixed by a read). */
  position(channel: string, epoch: string, top: number): Promise<void>
  /** Removes the kept publications of `channel` below `firstKept`. */
  trim(channel: string, firstKept: number): Promise<void>
  /** Forgets a channel's stream, whose last offset was `top`. Queued in call order like every
   * other write, so a stream started again right after it is kept. */
  drop(channel: string, top: number): Promise<void>
  close(): Promise<void>
}
