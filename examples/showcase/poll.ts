// The live poll: the server owns the tally. Votes arrive through the `poll.vote` rpc, one per user
// per poll (a revote moves it), as entries of the poll's vote log (`votes:<id>`, server-only) that
// a ChannelFold on every node folds into the tally: votes taken on any node of a cluster, or
// before a restart (SIGTERM or kill -9) on the durable broker, count once. Each change is
// published on `poll:<id>` (history of one; `poll.get` answers it too). Public API only.
import type { RpcContext, Switchboard } from 'switchboard'
import { ChannelFold, SwitchboardError } from 'switchboard'

/** A poll: a question and its answers. */
export interface PollDefinition {
  readonly id: string
  readonly question: string
  readonly options: readonly { readonly id: string; readonly label: string }[]
}

/** Most distinct voters one poll takes, and vote changes its log takes (it keeps them all):
 * past either, `APP_ERR_POLL_FULL`. */
export const MAX_VOTERS = 10_000
export const MAX_VOTE_CHANGES = 50_000
const DAY = 86_400_000

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
const fail = (code: string, status: number, message: string, poll?: string) =>
  new SwitchboardError(code, message, { status, ...(poll && { details: { poll } }) })

/** The id an rpc's `field` names, or `APP_ERR_POLL_BAD_VOTE`. */
function idOf(data: unknown, field: 'poll' | 'option'): string {
  const id = (data as Record<string, unknown> | null)?.[field]
  if (typeof id === 'string' && ID.test(id)) return id
  throw fail('APP_ERR_POLL_BAD_VOTE', 400, `${field} must be an id of 1 to 40 a-z, 0-9, -`)
}

/** One poll's state, folded from its vote log (here, before the first vote). */
export const newPoll = (definition: PollDefinition, maxVoters = MAX_VOTERS) => ({
  definition,
  tally: {
    poll: definition.id,
    counts: Object.fromEntries(definition.options.map((o) => [o.id, 0])),
    total: 0,
    version: 0,
  },
  /** Who voted for what: never published. */
  voters: new Map<string, string>(),
  maxVoters,
})
export type PollState = ReturnType<typeof newPoll>
/** What is published: votes per option. The version grows by one with every change, so a page
 * keeps the newest tally whatever the arrival order. */
export type Tally = PollState['tally']
type Entry = { user: string; option: string }

/** A copy of the tally, to publish or answer (the fold goes on changing its own). */
const tallyOf = (state: PollState): Tally => ({ ...state.tally, counts: { ...state.tally.counts } })

/**
 * Counts `user`'s vote for `option`, entry `offset` of the log (a revote moves the vote): true
 * if it changed the tally. Throws `APP_ERR_POLL_UNKNOWN_OPTION` or `APP_ERR_POLL_FULL` before
 * changing anything; `dryRun` only checks.
 */
export function countVote(state: PollState, vote: Entry, offset: number, dryRun = false) {
  const { tally, voters } = state
  const { user, option } = vote
  if (!Object.hasOwn(tally.counts, option)) {
    throw fail('APP_ERR_POLL_UNKNOWN_OPTION', 422, `poll "${tally.poll}" has no option "${option}"`)
  }
  const previous = voters.get(user)
  if (previous === option) return false
  if (offset > MAX_VOTE_CHANGES || (previous === undefined && voters.size >= state.maxVoters)) {
    throw fail('APP_ERR_POLL_FULL', 409, `poll "${tally.poll}" takes no more votes`, tally.poll)
  }
  if (dryRun) return true
  if (previous === undefined) tally.total++
  else tally.counts[previous]! -= 1
  tally.counts[option]! += 1
  tally.version++
  voters.set(user, option)
  return true
}

/** Declares the `poll` namespace (server-published tallies, history of one) and `votes` (the
 * logs), the rpc methods `poll.list`, `poll.get` `{ poll }` and `poll.vote` `{ poll, option }`
 * (a page: `client.rpc('poll.vote', { poll: 'lunch', option: 'ramen' })`), and serves `/poll`.
 * Coded errors: `APP_ERR_POLL_BAD_VOTE` (400), `APP_ERR_POLL_UNKNOWN` (404),
 * `APP_ERR_POLL_UNKNOWN_OPTION` (422), `APP_ERR_POLL_FULL` (409). */
export function mountPoll(app: Switchboard, polls = DEMO_POLLS): void {
  app.channels.namespace('poll', { historySize: 1, historyTtl: DAY, slowConsumer: 'conflate' })
  // Who voted for what is the server's alone: every change a poll takes, and room for more.
  const keep = { historySize: MAX_VOTE_CHANGES + 1000, historyTtl: 365 * DAY }
  app.channels.namespace('votes', { ...keep, canSubscribe: () => false })
  const book = new Map<string, ChannelFold<PollState, Entry, boolean>>()
  for (const poll of polls) {
    const fold = new ChannelFold(app.hub, `votes:${poll.id}`, {
      initial: () => newPoll(poll),
      apply: (state, entry: Entry, p) => countVote(state, entry, p.offset),
      onLoss: (loss) => app.log.warn(`poll: ${loss.channel} lost votes (${loss.reason})`),
    })
    book.set(poll.id, fold)
  }
  const find = (data: unknown) => {
    const id = idOf(data, 'poll')
    const fold = book.get(id)
    if (fold === undefined) throw fail('APP_ERR_POLL_UNKNOWN', 404, `no poll "${id}"`, id)
    return fold
  }
  app.channels.rpc('poll.list', () => polls.map(({ id, question }) => ({ id, question })))
  app.channels.rpc('poll.get', async (data: unknown, ctx: RpcContext) => {
    const state = await find(data).read()
    const vote = state.voters.get(ctx.user) ?? null
    return { poll: state.definition, tally: tallyOf(state), vote }
  })
  app.channels.rpc('poll.vote', async (data: unknown, { user }: RpcContext) => {
    const option = idOf(data, 'option')
    const votes = find(data)
    if (user === '') throw new SwitchboardError('SWB_ERR_AUTH_UNAUTHORIZED', 'sign in to vote')
    // A vote that changes nothing, or would be refused, is not logged; the log's fold decides.
    if (!countVote(await votes.read(), { user, option }, votes.position.offset + 1, true)) {
      return { tally: tallyOf(votes.state), vote: option }
    }
    const { result, state } = await votes.append({ user, option })
    const tally = tallyOf(state)
    // The publication carries a key, so a slow subscriber keeps only the newest tally.
    if (result !== false) await app.hub.publish(`poll:${tally.poll}`, tally, { key: 'tally' })
    return { tally, vote: option }
  })
  app.get('/poll', (ctx) => ctx.file(new URL('./public/poll.html', import.meta.url).pathname))
}
