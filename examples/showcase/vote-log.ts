// A poll's votes as a log on a server-only channel, `votes:<poll>`, folded into a PollTally by
// every node that serves the poll. The broker gives each vote its offset, so every node folds the
// same votes in the same order and agrees on the tally and its version: one process or many
// behind Redis, the code is the same. The tally is held in memory only: a restarted process (on
// the durable broker) folds the same log again into the same tally. Built only on the public API.
import type { Hub, Switchboard } from 'switchboard'
import { SwitchboardError } from 'switchboard'
import { type PollDefinition, PollTally, type Tally } from './poll-tally.ts'

/** One entry of the log: `user` now votes for `option`. Who voted for what stays on the server. */
export interface VoteEntry {
  readonly user: string
  readonly option: string
}

/** Vote changes one poll takes (its log is never trimmed before that); then `APP_ERR_POLL_FULL`. */
export const MAX_VOTE_CHANGES = 50_000
/** Entries the log's channel keeps: the limit, plus room for votes racing past it on other nodes. */
export const VOTE_LOG_SIZE = MAX_VOTE_CHANGES + 1_000
/** How long the log keeps a vote. A restarted node counts the poll again from its log, so a vote
 * older than this is lost at the next restart: a year, since the log is bounded by its size. */
export const VOTE_LOG_TTL = 365 * 24 * 60 * 60 * 1000
/** Entries read per history call while catching up. */
const PAGE = 1_000

/** What a vote did: the tally after it, the voter's choice before it, and whether it changed. */
export interface VoteOutcome {
  readonly tally: Tally
  readonly previous: string | null
  readonly changed: boolean
}

/**
 * The namespace of the vote logs: written by the server only, read by nobody but the server
 * (clients may neither subscribe nor read its history: it says who voted for what).
 */
export function mountVoteLogs(app: Switchboard): void {
  app.channels.namespace('votes', {
    historySize: VOTE_LOG_SIZE,
    historyTtl: VOTE_LOG_TTL,
    clientPublish: false,
    canSubscribe: () => false,
  })
}

/**
 * One poll's log and this node's fold of it. Every read and vote first catches up with the log
 * (one history call when nothing is new), and runs one at a time on this node; nodes never
 * coordinate except through the log's order.
 *
 * @example
 * const log = new VoteLog(app.hub, DEMO_POLLS[1]!)
 * await log.vote('ada', 'ramen') // { tally: { counts: { ramen: 1, … }, … }, previous: null, changed: true }
 */
export class VoteLog {
  readonly definition: PollDefinition
  readonly channel: string
  readonly #hub: Pick<Hub, 'publish' | 'history'>
  readonly #maxVoters: number | undefined
  readonly #onLoss: (message: string) => void
  #poll: PollTally
  #offset = 0
  #epoch = ''
  #turn: Promise<unknown> = Promise.resolve()

  constructor(
    hub: Pick<Hub, 'publish' | 'history'>,
    definition: PollDefinition,
    options: { maxVoters?: number; onLoss?: (message: string) => void } = {},
  ) {
    this.#hub = hub
    this.definition = definition
    this.channel = `votes:${definition.id}`
    this.#maxVoters = options.maxVoters
    this.#onLoss = options.onLoss ?? (() => {})
    this.#poll = new PollTally(definition, this.#maxVoters)
  }

  /** The tally and `user`'s vote, with every vote the log holds now counted. */
  read(user: string): Promise<{ tally: Tally; vote: string | null }> {
    return this.#serial(async () => {
      await this.#catchUp(0)
      return { tally: this.#poll.tally(), vote: this.#poll.voteOf(user) }
    })
  }

  /**
   * Appends `user`'s vote to the log unless it changes nothing, then folds the log up to it.
   * Throws `APP_ERR_POLL_UNKNOWN_OPTION` or `APP_ERR_POLL_FULL`, also when a vote on another
   * node took the last place first.
   */
  vote(user: string, option: string): Promise<VoteOutcome> {
    return this.#serial(async () => {
      await this.#catchUp(0)
      const previous = this.#poll.check(user, option)
      if (previous === option) return { tally: this.#poll.tally(), previous, changed: false }
      if (this.#offset >= MAX_VOTE_CHANGES) throw this.#full()
      const entry: VoteEntry = { user, option }
      const { offset } = await this.#hub.publish(this.channel, entry)
      const outcome = await this.#catchUp(offset)
      if (outcome instanceof Error) throw outcome
      return { tally: this.#poll.tally(), previous, changed: outcome ?? true }
    })
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#turn.then(work, work)
    this.#turn = run.catch(() => {})
    return run
  }

  /**
   * Folds every entry after the last one folded. Returns what the entry at `watch` did: whether
   * it changed the tally, or the error that refused it (undefined when it was not read).
   */
  async #catchUp(watch: number): Promise<boolean | Error | undefined> {
    let outcome: boolean | Error | undefined
    for (let replaced = 0; ; ) {
      const res = await this.#hub.history(this.channel, {
        since: { offset: this.#offset, epoch: this.#epoch },
        limit: PAGE,
      })
      if (res.epoch !== this.#epoch) {
        // A new log (the first read, or the broker lost the old one): count again from nothing.
        if (++replaced > 2) throw new Error(`${this.channel}: the log keeps changing its epoch`)
        if (this.#epoch !== '') this.#onLoss(`${this.channel}: the log was replaced; recounting`)
        this.#epoch = res.epoch
        this.#offset = 0
        this.#poll = new PollTally(this.definition, this.#maxVoters)
        continue
      }
      for (const pub of res.publications) {
        if (pub.offset <= this.#offset) continue
        if (pub.offset !== this.#offset + 1) {
          this.#onLoss(`${this.channel}: entries ${this.#offset + 1}-${pub.offset - 1} are gone`)
        }
        const result = this.#apply(pub.data as VoteEntry)
        this.#offset = pub.offset
        if (pub.offset === watch) outcome = result
      }
      if (res.publications.length === 0 || this.#offset >= res.offset) {
        if (res.offset > this.#offset) {
          this.#onLoss(`${this.channel}: entries ${this.#offset + 1}-${res.offset} are gone`)
          this.#offset = res.offset
        }
        return outcome
      }
    }
  }

  /** Applies one entry; an entry the poll refuses (it raced past the limit) counts nothing. */
  #apply(entry: VoteEntry): boolean | Error {
    try {
      return this.#poll.vote(entry.user, entry.option).previous !== entry.option
    } catch (err) {
      if (err instanceof SwitchboardError) return err
      throw err
    }
  }

  #full(): SwitchboardError {
    return new SwitchboardError(
      'APP_ERR_POLL_FULL',
      `poll ${JSON.stringify(this.definition.id)} has taken its ${MAX_VOTE_CHANGES} vote changes`,
      { status: 409, details: { poll: this.definition.id } },
    )
  }
}
