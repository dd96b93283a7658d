// One poll's votes in memory: one vote per user, a revote moves it, and the tally kept in step.
// The vote log (vote-log.ts) folds the cluster's votes into one of these on every node.
import { SwitchboardError } from 'switchboard'

/** One answer of a poll. */
export interface PollOption {
  readonly id: string
  readonly label: string
}

/** A poll: a question and its answers. */
export interface PollDefinition {
  readonly id: string
  readonly question: string
  readonly options: readonly PollOption[]
}

/** The public state of a poll: votes per option. Who voted for what is never published. */
export interface Tally {
  readonly poll: string
  readonly counts: Readonly<Record<string, number>>
  readonly total: number
  /** Grows by one with every change, so a page keeps the newest tally whatever the arrival order. */
  readonly version: number
}

/** Most distinct voters one poll remembers; beyond it new voters get `APP_ERR_POLL_FULL`. */
export const MAX_VOTERS = 10_000

/**
 * One poll's votes: one per user, a revote moves it, and the tally is kept in step so reading it
 * costs nothing.
 *
 * @example
 * const poll = new PollTally(DEMO_POLLS[0]!)
 * poll.vote('ada', 'sse') // { tally: { counts: { sse: 1, … }, total: 1, … }, previous: null }
 */
export class PollTally {
  readonly definition: PollDefinition
  /** Most distinct voters this poll accepts. */
  readonly maxVoters: number
  readonly #votes = new Map<string, string>()
  readonly #counts: Record<string, number> = Object.create(null)
  #version = 0

  constructor(definition: PollDefinition, maxVoters = MAX_VOTERS) {
    this.definition = definition
    this.maxVoters = maxVoters
    for (const o of definition.options) this.#counts[o.id] = 0
  }

  /**
   * Records `user`'s vote for `option` and returns the new tally and the user's previous choice.
   * Voting again for the same option changes nothing (the version stays).
   */
  vote(user: string, option: string): { tally: Tally; previous: string | null } {
    const previous = this.check(user, option)
    if (previous === option) return { tally: this.tally(), previous }
    if (previous !== null) this.#counts[previous]! -= 1
    this.#counts[option]! += 1
    this.#votes.set(user, option)
    this.#version++
    return { tally: this.tally(), previous }
  }

  /**
   * Whether `user` may vote for `option`: returns the user's current choice (or null), or throws
   * what `vote` would (`APP_ERR_POLL_UNKNOWN_OPTION`, `APP_ERR_POLL_FULL`). Changes nothing.
   */
  check(user: string, option: string): string | null {
    if (!Object.hasOwn(this.#counts, option)) {
      throw new SwitchboardError(
        'APP_ERR_POLL_UNKNOWN_OPTION',
        `poll ${JSON.stringify(this.definition.id)} has no option ${JSON.stringify(option)}`,
        { status: 422, details: { poll: this.definition.id, option } },
      )
    }
    const previous = this.#votes.get(user) ?? null
    if (previous === null && this.#votes.size >= this.maxVoters) {
      throw new SwitchboardError(
        'APP_ERR_POLL_FULL',
        `poll ${JSON.stringify(this.definition.id)} has its ${this.maxVoters} voters`,
        { status: 409, details: { poll: this.definition.id } },
      )
    }
    return previous
  }

  /** The option `user` voted for, or null. */
  voteOf(user: string): string | null {
    return this.#votes.get(user) ?? null
  }

  /** The current tally (a fresh object each call). */
  tally(): Tally {
    return {
      poll: this.definition.id,
      counts: { ...this.#counts },
      total: this.#votes.size,
      version: this.#version,
    }
  }
}
