import type { Session } from './session.ts'

function runQueue(queue: FlushQueue): void {
  queue.run()
}

/**
 * Calls `fn(arg)` when the hub's write window closes: at the end of this event-loop turn
 * (`setImmediate`) with `delay` 0, else `delay` ms from now (the hub option `writeDelay`).
 */
export function afterWindow<T>(delay: number, fn: (arg: T) => void, arg: T): void {
  if (delay === 0) setImmediate(fn, arg)
  else setTimeout(fn, delay, arg)
}

/**
 * The sessions with queued frames in this write window. Each is written once, when the window
 * closes, however many frames it was given: one write per socket per window. The window is the
 * event-loop turn (`setImmediate`), or `delay` ms from the first queued frame.
 */
export class FlushQueue {
  // Two lists used in turn, kept at their size between windows: a window that queues thousands
  // of sessions grows no fresh array. `#count` is how many of `#dirty`'s slots are this window's.
  #dirty: (Session | null)[] = []
  #spare: (Session | null)[] = []
  #count = 0
  #scheduled = false
  readonly #failed: (session: Session, error: unknown) => void
  /** The hub's `writeDelay` (ms; 0 for the end of the turn). */
  delay = 0

  /** `failed` is called for a session whose write threw (the rest are still written). */
  constructor(failed: (session: Session, error: unknown) => void) {
    this.#failed = failed
  }

  /** Queues a session for the flush when this window closes. */
  schedule(session: Session): void {
    this.#dirty[this.#count++] = session
    if (!this.#scheduled) {
      this.#scheduled = true
      afterWindow(this.delay, runQueue, this)
    }
  }

  /** Writes every queued session's outbox now. */
  run(): void {
    this.#scheduled = false
    const list = this.#dirty
    const n = this.#count
    // Sessions queued while these are written go to the other list, for the next window.
    this.#dirty = this.#spare
    this.#count = 0
    for (let i = 0; i < n; i++) {
      const session = list[i]!
      list[i] = null // the list is kept: it must not keep a closed session alive
      try {
        session.flush()
      } catch (err) {
        this.#failed(session, err)
      }
    }
    this.#spare = list
  }
}
