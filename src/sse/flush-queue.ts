/**
 * The SSE write path's once-per-turn flush (ARCHITECTURE: write path): streams with pending
 * bytes queue themselves, and one module-level `setImmediate` flushes them all, so N sends in a
 * turn cost one socket write per stream.
 *
 * Fan-out: streams that got the same prepared events in a turn hold the same Buffers in the same
 * order. {@link joinShared} joins them once and hands that one Buffer to each stream, so a
 * stream's cost is one write however many events the turn carried. Cleared after every turn.
 */

/** What the queue flushes (an `SseStream`). */
export interface Flushable {
  /** In the queue; set and cleared by the queue only. */
  queued: boolean
  flush(): void
  /** Called after `flush()`, outside any parser callback. */
  afterFlush(): void
}

// Two lists used in turn, kept at their size between turns (`length = 0` would drop a list's
// storage, and a turn queuing thousands of streams would grow a fresh one): `count` is how many
// of `queue`'s slots are this turn's.
let queue: (Flushable | null)[] = []
let spare: (Flushable | null)[] = []
let count = 0
let scheduled = false
let flushing = false

let lastFirst: Buffer | null = null
let lastRest: (string | Buffer)[] | null = null
let lastJoined: Buffer | null = null

/** Whether the queue is being flushed now (a stream flushed in it needs no second turn). */
export function isFlushing(): boolean {
  return flushing
}

/**
 * `first` and `rest` as one Buffer, or `null` when a chunk is a string. The same chunks as the
 * previous call of this turn (compared by identity) return the same Buffer.
 */
export function joinShared(first: Buffer, rest: (string | Buffer)[]): Buffer | null {
  if (first === lastFirst && lastRest !== null && rest.length === lastRest.length) {
    let same = true
    for (let i = 0; i < rest.length; i++) {
      if (rest[i] !== lastRest[i]) {
        same = false
        break
      }
    }
    if (same) return lastJoined
  }
  let length = first.length
  for (let i = 0; i < rest.length; i++) {
    const chunk = rest[i]!
    if (typeof chunk === 'string') return null
    length += chunk.length
  }
  const joined = Buffer.allocUnsafe(length)
  let at = first.copy(joined, 0)
  for (let i = 0; i < rest.length; i++) at += (rest[i] as Buffer).copy(joined, at)
  lastFirst = first
  lastRest = rest
  lastJoined = joined
  return joined
}

/** Queues `stream` for the end of this turn's flush. */
export function enqueueFlush(stream: Flushable): void {
  stream.queued = true
  queue[count++] = stream
  if (!scheduled) {
    scheduled = true
    setImmediate(flushQueue)
  }
}

function flushQueue(): void {
  scheduled = false
  const batch = queue
  const n = count
  queue = spare
  count = 0
  flushing = true
  for (let i = 0; i < n; i++) {
    const stream = batch[i]!
    batch[i] = null // the list is kept: it must not keep a closed stream alive
    stream.queued = false
    stream.flush()
    stream.afterFlush()
  }
  flushing = false
  lastFirst = null
  lastRest = null
  lastJoined = null
  spare = batch
}
