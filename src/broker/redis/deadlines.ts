/** One command waiting for its reply. */
interface Waiting {
  readonly deadline: number
  settled: boolean
  reject: (err: Error) => void
}

/** The error a command gets when its reply is late. */
export class CommandDeadlineError extends Error {
  constructor(ms: number) {
    super(`no reply from Redis within ${ms} ms`)
    this.name = 'CommandDeadlineError'
  }
}

/**
 * Deadlines for commands already written to Redis. node-redis times a command out only while it
 * waits to be written; once on the wire it waits for its reply forever, so a stalled Redis (a
 * paused process, a half-open connection) would hang every publish. Every command here has the
 * same timeout, so deadlines come in order: one FIFO and one timer per broker, not one per
 * command, reject the late ones. A late command may still be applied by Redis afterwards.
 *
 * @example
 * const deadlines = new Deadlines(2_000)
 * const reply = await deadlines.watch(client.sendCommand(['PING']))
 */
export class Deadlines {
  readonly #ms: number
  #queue: Waiting[] = []
  #head = 0
  #timer: ReturnType<typeof setInterval> | null = null

  constructor(ms: number) {
    this.#ms = ms
  }

  /** Settles like `promise`, or rejects with {@link CommandDeadlineError} when it is late. */
  watch<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Waiting = { deadline: Date.now() + this.#ms, settled: false, reject }
      this.#queue.push(entry)
      this.#timer ??= setInterval(sweep, Math.max(10, Math.floor(this.#ms / 4)), this)
      this.#timer.unref?.()
      promise.then(
        (value) => {
          entry.settled = true
          resolve(value)
        },
        (err: unknown) => {
          entry.settled = true
          reject(err)
        },
      )
    })
  }

  /** @internal Rejects every command past its deadline; stops the timer when none waits. */
  sweep(now = Date.now()): void {
    const q = this.#queue
    let i = this.#head
    for (; i < q.length; i++) {
      const entry = q[i]!
      if (entry.settled) continue
      if (entry.deadline > now) break
      entry.settled = true
      entry.reject(new CommandDeadlineError(this.#ms))
    }
    // Settled entries behind the first waiting one are dropped when they reach the head.
    while (i < q.length && q[i]!.settled) i++
    this.#head = i
    if (this.#head === q.length) {
      this.#queue = []
      this.#head = 0
      if (this.#timer !== null) clearInterval(this.#timer)
      this.#timer = null
    } else if (this.#head > 1024 && this.#head * 2 > q.length) {
      this.#queue = q.slice(this.#head)
      this.#head = 0
    }
  }

  /** Stops the timer (the broker closes). */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }
}

function sweep(deadlines: Deadlines): void {
  deadlines.sweep()
}
