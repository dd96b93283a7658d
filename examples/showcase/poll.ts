// The live poll demo: the server owns the tally. Votes arrive through the `poll.vote` rpc (never a
// client publish), one per user per poll (a revote moves the vote). Each vote is an entry of the
// poll's vote log (`votes:<id>`, server-only), which every node folds into the same tally, so
// votes taken on any node of a cluster count once. Every change is published on `poll:<id>`,
// whose one-entry history plus the `poll.get` rpc give a late joiner the current tally. Built
// only on the public API.
import type { RpcContext, StandardSchemaV1, Switchboard } from 'switchboard'
import { SwitchboardError } from 'switchboard'
import type { PollDefinition } from './poll-tally.ts'
import { mountVoteLogs, VoteLog } from './vote-log.ts'

export {
  MAX_VOTERS,
  type PollDefinition,
  type PollOption,
  PollTally,
  type Tally,
} from './poll-tally.ts'

/** A vote as the `poll.vote` rpc takes it. */
export interface Vote {
  readonly poll: string
  readonly option: string
}

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
 * Declares the `poll` namespace (server-published tallies, history of one) and the vote logs'
 * (`votes`, server-only), the rpc methods `poll.list`, `poll.get` `{ poll }` and `poll.vote`
 * `{ poll, option }`, and serves `/poll`. Returns each poll's vote log by id.
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
): ReadonlyMap<string, VoteLog> {
  const onLoss = (message: string) => app.log.warn(`poll: ${message}`)
  const book = new Map<string, VoteLog>()
  for (const p of polls) book.set(p.id, new VoteLog(app.hub, p, { onLoss }))
  app.channels.namespace('poll', {
    historySize: 1,
    historyTtl: 24 * 60 * 60 * 1000,
    clientPublish: false,
    slowConsumer: 'conflate',
  })
  mountVoteLogs(app)
  const find = (data: unknown): VoteLog => {
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
  app.channels.rpc('poll.get', async (data: unknown, ctx: RpcContext) => {
    const poll = find(data)
    const { tally, vote } = await poll.read(ctx.user)
    return { poll: poll.definition, tally, vote }
  })
  app.channels.rpc('poll.vote', async (data: unknown, ctx: RpcContext) => {
    const checked = await voteInput['~standard'].validate(data)
    if (checked.issues) throw badInput(checked.issues[0]?.message ?? 'bad vote')
    const poll = book.get(checked.value.poll)
    if (poll === undefined) throw unknownPoll(checked.value.poll)
    if (ctx.user === '') throw new SwitchboardError('SWB_ERR_AUTH_UNAUTHORIZED', 'sign in to vote')
    const { tally, changed } = await poll.vote(ctx.user, checked.value.option)
    // The publication carries a key, so a slow subscriber keeps only the newest tally.
    if (changed) await app.hub.publish(`poll:${tally.poll}`, tally, { key: 'tally' })
    return { tally, vote: checked.value.option }
  })
  app.get('/poll', (ctx) => ctx.file(new URL('./public/poll.html', import.meta.url).pathname))
  return book
}
