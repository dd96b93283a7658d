import type { Session } from './session.ts'

function runQueue(queue: FlushQueue): void {
  queue.run()
}

/**
 * The sessions with queued frames this event-loop turn. Each is written once, at the end of the
 * turn (`setImmediate`), however many frames it was given: one write per socket per turn.
 */
export class FlushQueue {
  #dirty: Session[] = []
  #scheduled = false
  readonly #failed: (session: Session, error: unknown) => void

  /** `failed` is called for a session whose write threw (the rest are still written). */
  constructor(failed: (session: Session, error: unknown) => void) {
    this.#failed = failed
  }

  /** Queues a session for the flush at the end of this turn. */
  schedule(session: Session): void {
    this.#dirty.push(session)
    if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(runQueue, this)
    }
  }

  /** Writes every queued session's outbox now. */
  run(): void {
    this.#scheduled = false
    const dirty = this.#dirty
    this.#dirty = []
    for (const session of dirty) {
      try {
        session.flush()
      } catch (err) {
        this.#failed(session, err)
      }
    }
  }
}
