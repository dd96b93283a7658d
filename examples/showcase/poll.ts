// The live poll demo: the server owns the tally. Votes arrive through the `poll.vote` rpc (never a
// client publish), one per user per poll (a revote moves the vote), and every change is published
// on `poll:<id>`, whose one-entry history plus the `poll.get` rpc give a late joiner the current
// tally. Built only on the public API.
import type { RpcContext, StandardSchemaV1, Switchboard } from 'switchboard'
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

/** A vote as the `poll.vote` rpc takes it. */
export interface Vote {
  readonly poll: string
  readonly option: string
}

/** Most distinct voters one poll remembers; beyond it new voters get `APP_ERR_POLL_FULL`. */
export const MAX_VOTERS = 10_000

/** The polls the showcase serves. */
export const DEMO_POLLS: readonly PollDefinition[] = [
  {
    id: 'transport',
    question: 'Which transport reaches you from where you sit?',
    options: [
      { id: 'websocket', label: 'WebSocket' },
      { id: 'sse', label: 'Server-Sent Events' },
      { id: 'both', label: 'Both' },
      { id: 'unsure', label: 'Not sure' },
    ],
  },
  {
    id: 'lunch',
    question: 'Lunch today?',
    options: [
      { id: 'ramen', label: 'Ramen' },
      { id: 'pizza', label: 'Pizza' },
      { id: 'salad', label: 'Salad' },
    ],
  },
]

const ID = /^[a-z0-9-]{1,40}$/

/**
 * Validates the `poll.vote` input: `{ poll, option }`, both ids of 1 to 40 of `a-z 0-9 -`.
 * Whether the poll and option exist is checked against the poll itself.
 *
 * @example
 * voteInput['~standard'].validate({ poll: 'lunch', option: 'ramen' })
 */
export const voteInput: StandardSchemaV1<unknown, Vote> = {
  '~standard': {
    version: 1,
    vendor: 'switchboard-showcase',
    validate(value: unknown) {
      const v = value as { poll?: unknown; option?: unknown } | null
      if (typeof value !== 'object' || v === null) {
        return { issues: [{ message: 'a vote is { poll, option }' }] }
      }
      if (typeof v.poll !== 'string' || !ID.test(v.poll)) {
        return { issues: [{ message: 'poll must be an id of 1 to 40 a-z, 0-9, -' }] }
      }
      if (typeof v.option !== 'string' || !ID.test(v.option)) {
        return { issues: [{ message: 'option must be an id of 1 to 40 a-z, 0-9, -' }] }
      }
      return { value: { poll: v.poll, option: v.option } }
    },
  },
}

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
    if (!Object.hasOwn(this.#counts, option)) {
      throw new SwitchboardError(
        'APP_ERR_POLL_UNKNOWN_OPTION',
        `poll ${JSON.stringify(this.definition.id)} has no option ${JSON.stringify(option)}`,
        { status: 422, details: { poll: this.definition.id, option } },
      )
    }
    const previous = this.#votes.get(user) ?? null
    if (previous === option) return { tally: this.tally(), previous }
    if (previous === null && this.#votes.size >= this.maxVoters) {
      throw new SwitchboardError(
        'APP_ERR_POLL_FULL',
        `poll ${JSON.stringify(this.definition.id)} has its ${this.maxVoters} voters`,
        { status: 409, details: { poll: this.definition.id } },
      )
    }
    if (previous !== null) this.#counts[previous]! -= 1
    this.#counts[option]! += 1
    this.#votes.set(user, option)
    this.#version++
    return { tally: this.tally(), previous }
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

function unknownPoll(id: string): SwitchboardError {
  return new SwitchboardError('APP_ERR_POLL_UNKNOWN', `no poll ${JSON.stringify(id)}`, {
    status: 404,
    details: { poll: id },
  })
}

function badInput(message: string): SwitchboardError {
  return new SwitchboardError('APP_ERR_POLL_BAD_VOTE', message, { status: 400 })
}

/**
 * Declares the `poll` namespace (server-published tallies, history of one), the rpc methods
 * `poll.list`, `poll.get` `{ poll }` and `poll.vote` `{ poll, option }`, and serves `/poll`.
 * Coded errors: `APP_ERR_POLL_BAD_VOTE` (400, malformed input), `APP_ERR_POLL_UNKNOWN` (404),
 * `APP_ERR_POLL_UNKNOWN_OPTION` (422), `APP_ERR_POLL_FULL` (409).
 *
 * @example
 * const polls = mountPoll(app)
 * // in a page: await client.rpc('poll.vote', { poll: 'lunch', option: 'ramen' })
 */
export function mountPoll(
  app: Switchboard,
  polls: readonly PollDefinition[] = DEMO_POLLS,
): ReadonlyMap<string, PollTally> {
  const book = new Map<string, PollTally>()
  for (const p of polls) book.set(p.id, new PollTally(p))
  app.channels.namespace('poll', {
    historySize: 1,
    historyTtl: 24 * 60 * 60 * 1000,
    clientPublish: false,
    slowConsumer: 'conflate',
  })
  const find = (data: unknown): PollTally => {
    const id = (data as { poll?: unknown } | null)?.poll
    if (typeof id !== 'string' || !ID.test(id)) {
      throw badInput('poll must be an id of 1 to 40 a-z, 0-9, -')
    }
    const poll = book.get(id)
    if (poll === undefined) throw unknownPoll(id)
    return poll
  }
  app.channels.rpc('poll.list', () =>
    [...book.values()].map((p) => ({ id: p.definition.id, question: p.definition.question })),
  )
  app.channels.rpc('poll.get', (data: unknown, ctx: RpcContext) => {
    const poll = find(data)
    return { poll: poll.definition, tally: poll.tally(), vote: poll.voteOf(ctx.user) }
  })
  app.channels.rpc('poll.vote', async (data: unknown, ctx: RpcContext) => {
    const checked = await voteInput['~standard'].validate(data)
    if (checked.issues) throw badInput(checked.issues[0]?.message ?? 'bad vote')
    const poll = book.get(checked.value.poll)
    if (poll === undefined) throw unknownPoll(checked.value.poll)
    if (ctx.user === '') throw new SwitchboardError('SWB_ERR_AUTH_UNAUTHORIZED', 'sign in to vote')
    const { tally, previous } = poll.vote(ctx.user, checked.value.option)
    // The publication carries a key, so a slow subscriber keeps only the newest tally.
    if (previous !== checked.value.option) {
      await app.hub.publish(`poll:${tally.poll}`, tally, { key: 'tally' })
    }
    return { tally, vote: checked.value.option }
  })
  app.get('/poll', (ctx) => ctx.file(new URL('./public/poll.html', import.meta.url).pathname))
  return book
}
