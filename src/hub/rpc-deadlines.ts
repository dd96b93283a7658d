import { SwitchboardError } from '../errors/index.ts'

/** One rpc call waiting for its handler. */
interface Pending {
  readonly deadline: number
  readonly method: string
  readonly reject: (err: unknown) => void
}

/**
 * Server-side rpc timeouts without a timer per call: each call that returned a promise is kept,
 * in arrival order, with its deadline, and the hub's periodic sweep answers the due ones
 * `SWB_ERR_RPC_TIMEOUT` (status 504). Every call has the same timeout, so arrival order is
 * deadline order and a sweep stops at the first call not yet due. A call is answered between
 * `timeout` and `timeout + sweepInterval` after it started. The handler itself is not stopped:
 * whatever it settles with later is dropped, and the session's in-flight slot is free at once.
 *
 * @example
 * const deadlines = new RpcDeadlines(30_000, Date.now)
 * const data = await deadlines.race(handler(input, ctx), 'orders.create')
 * setInterval(() => deadlines.sweep(Date.now()), 1000)
 */
export class RpcDeadlines {
  readonly #timeout: number
  readonly #now: () => number
  readonly #pending = new Set<Pending>()

  constructor(timeout: number, now: () => number) {
    this.#timeout = timeout
    this.#now = now
  }

  /** Calls waiting for their handler. */
  get size(): number {
    return this.#pending.size
  }

  /** Settles as `work` does, or rejects with `SWB_ERR_RPC_TIMEOUT` once a sweep finds it due. */
  race<T>(work: PromiseLike<T>, method: string): Promise<T> {
    const pending = this.#pending
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { deadline: this.#now() + this.#timeout, method, reject }
      pending.add(entry)
      work.then(
        (value) => {
          if (pending.delete(entry)) resolve(value)
        },
        (err: unknown) => {
          if (pending.delete(entry)) reject(err)
        },
      )
    })
  }

  /** Answers every call whose deadline is at or before `now`. */
  sweep(now: number): void {
    for (const entry of this.#pending) {
      if (entry.deadline > now) break
      this.#pending.delete(entry)
      entry.reject(
        new SwitchboardError(
          'SWB_ERR_RPC_TIMEOUT',
          `rpc ${JSON.stringify(entry.method)} did not answer within ${this.#timeout} ms`,
        ),
      )
    }
  }

  /** Forgets every waiting call (the hub is closing; its sessions are gone). */
  clear(): void {
    this.#pending.clear()
  }
}
