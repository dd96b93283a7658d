// The live poll's server-owned tally, its input schema, and its rpc methods over the hub.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { SwitchboardError } from 'switchboard'
import { DurableBroker } from 'switchboard/durable'
import { createShowcase } from '../../examples/showcase/app.ts'
import {
  countVote,
  MAX_VOTE_CHANGES,
  newPoll,
  type PollDefinition,
} from '../../examples/showcase/poll.ts'

const lunch: PollDefinition = {
  id: 'lunch',
  question: 'Lunch?',
  options: [
    { id: 'ramen', label: 'Ramen' },
    { id: 'pizza', label: 'Pizza' },
  ],
}

function code(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof SwitchboardError)
    return err.code
  }
  assert.fail('expected a SwitchboardError')
}

/** Folds votes as the log would, each the next entry. */
function fold(state = newPoll(lunch), ...votes: [string, string][]) {
  for (const [user, option] of votes) {
    countVote(state, { user, option }, state.tally.version + 1)
  }
  return state
}

test('a new poll counts zero for every option at version 0', () => {
  assert.deepEqual(newPoll(lunch).tally, {
    poll: 'lunch',
    counts: { ramen: 0, pizza: 0 },
    total: 0,
    version: 0,
  })
})

test('two users voting are both counted, one vote each', () => {
  const poll = newPoll(lunch)
  assert.equal(countVote(poll, { user: 'ada', option: 'ramen' }, 1), true)
  assert.deepEqual(poll.tally, {
    poll: 'lunch',
    counts: { ramen: 1, pizza: 0 },
    total: 1,
    version: 1,
  })
  countVote(poll, { user: 'bob', option: 'pizza' }, 2)
  assert.deepEqual(poll.tally.counts, { ramen: 1, pizza: 1 })
  assert.equal(poll.tally.total, 2)
  assert.equal(poll.voters.get('ada'), 'ramen')
  assert.equal(poll.voters.get('nobody'), undefined)
})

test('a revote moves the vote: the old option loses one, the total stays', () => {
  const poll = fold(newPoll(lunch), ['ada', 'ramen'], ['bob', 'ramen'], ['ada', 'pizza'])
  assert.deepEqual(poll.tally.counts, { ramen: 1, pizza: 1 })
  assert.equal(poll.tally.total, 2)
  assert.equal(poll.tally.version, 3)
})

test('voting again for the same option changes nothing, not even the version', () => {
  const poll = fold(newPoll(lunch), ['ada', 'ramen'])
  assert.equal(countVote(poll, { user: 'ada', option: 'ramen' }, 2), false)
  assert.deepEqual(poll.tally, {
    poll: 'lunch',
    counts: { ramen: 1, pizza: 0 },
    total: 1,
    version: 1,
  })
})

test('an unknown option is refused with APP_ERR_POLL_UNKNOWN_OPTION and counts nothing', () => {
  const poll = fold(newPoll(lunch), ['ada', 'ramen'])
  assert.equal(
    code(() => countVote(poll, { user: 'ada', option: 'sushi' }, 2)),
    'APP_ERR_POLL_UNKNOWN_OPTION',
  )
  // Names inherited from Object.prototype are not options either.
  for (const option of ['constructor', '__proto__', 'toString']) {
    assert.equal(
      code(() => countVote(poll, { user: 'bob', option }, 2)),
      'APP_ERR_POLL_UNKNOWN_OPTION',
    )
  }
  assert.deepEqual(poll.tally.counts, { ramen: 1, pizza: 0 })
  assert.equal(poll.voters.get('ada'), 'ramen')
})

test('a full poll refuses new voters with APP_ERR_POLL_FULL but lets voters move', () => {
  const poll = fold(newPoll(lunch, 2), ['ada', 'ramen'], ['bob', 'ramen'])
  assert.equal(
    code(() => countVote(poll, { user: 'cyd', option: 'pizza' }, 3)),
    'APP_ERR_POLL_FULL',
  )
  assert.equal(poll.voters.has('cyd'), false)
  assert.equal(countVote(poll, { user: 'bob', option: 'pizza' }, 3), true)
  assert.equal(poll.tally.total, 2)
})

test("entries past the log's limit of vote changes are refused, on every node alike", () => {
  const poll = fold(newPoll(lunch), ['ada', 'ramen'])
  assert.equal(
    code(() => countVote(poll, { user: 'bob', option: 'pizza' }, MAX_VOTE_CHANGES + 1)),
    'APP_ERR_POLL_FULL',
  )
  assert.deepEqual(poll.tally.counts, { ramen: 1, pizza: 0 })
  assert.equal(countVote(poll, { user: 'bob', option: 'pizza' }, MAX_VOTE_CHANGES), true)
})

test('a dry run says what a vote would do and changes nothing', () => {
  const poll = fold(newPoll(lunch), ['ada', 'ramen'])
  assert.equal(countVote(poll, { user: 'bob', option: 'pizza' }, 2, true), true)
  assert.equal(countVote(poll, { user: 'ada', option: 'ramen' }, 2, true), false)
  assert.deepEqual(poll.tally, {
    poll: 'lunch',
    counts: { ramen: 1, pizza: 0 },
    total: 1,
    version: 1,
  })
  assert.equal(poll.voters.has('bob'), false)
})

// The rpc methods through the app's command endpoint (POST), as a page on the SSE fallback uses them.

async function command(
  app: ReturnType<typeof createShowcase>,
  user: string,
  body: Record<string, unknown>,
): Promise<{ result?: { data: unknown }; error?: { code: string; message: string } }> {
  const res = await app.request('/switchboard', {
    method: 'POST',
    headers: { authorization: `Bearer ${user}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 1, ...body }),
  })
  return (await res.json()) as {
    result?: { data: unknown }
    error?: { code: string; message: string }
  }
}

test('poll.vote over the command endpoint dedupes per user, publishes each change, and refuses bad input with codes', async () => {
  const app = createShowcase({ logger: false })
  try {
    const vote = (user: string, data: unknown) =>
      command(app, user, { type: 'rpc', method: 'poll.vote', data })
    const ada = await vote('Ada', { poll: 'lunch', option: 'ramen' })
    assert.deepEqual((ada.result?.data as { tally: unknown } | undefined)?.tally, {
      poll: 'lunch',
      counts: { ramen: 1, pizza: 0, salad: 0 },
      total: 1,
      version: 1,
    })
    await vote('Bob', { poll: 'lunch', option: 'pizza' })
    await vote('Ada', { poll: 'lunch', option: 'pizza' })
    await vote('Ada', { poll: 'lunch', option: 'pizza' }) // no change, no publication
    const history = await app.hub.history('poll:lunch')
    assert.equal(history.publications.length, 1, 'history keeps the newest tally only')
    assert.deepEqual(history.publications[0]!.data, {
      poll: 'lunch',
      counts: { ramen: 0, pizza: 2, salad: 0 },
      total: 2,
      version: 3,
    })
    assert.equal(history.offset, 3, 'three changes, three publications')

    const got = await command(app, 'Ada', {
      type: 'rpc',
      method: 'poll.get',
      data: { poll: 'lunch' },
    })
    assert.equal((got.result?.data as { vote: string } | undefined)?.vote, 'pizza')

    assert.equal(
      (await vote('Ada', { poll: 'lunch', option: 'sushi' })).error?.code,
      'APP_ERR_POLL_UNKNOWN_OPTION',
    )
    assert.equal(
      (await vote('Ada', { poll: 'nope', option: 'ramen' })).error?.code,
      'APP_ERR_POLL_UNKNOWN',
    )
    for (const bad of [
      { poll: 'lunch' },
      'ramen',
      null,
      { option: 'ramen' },
      { poll: 'Lunch!', option: 'ramen' },
      { poll: 'x'.repeat(41), option: 'ramen' },
      { poll: 'lunch', option: 3 },
      { poll: 'lunch', option: '' },
    ]) {
      const refused = await vote('Ada', bad)
      assert.equal(refused.error?.code, 'APP_ERR_POLL_BAD_VOTE', JSON.stringify(bad))
      assert.match(refused.error?.message ?? '', /must be an id of 1 to 40/)
    }
    assert.equal(
      (await command(app, 'Ada', { type: 'rpc', method: 'poll.get', data: {} })).error?.code,
      'APP_ERR_POLL_BAD_VOTE',
    )
    // Clients cannot write the tally themselves.
    const forged = await command(app, 'Ada', {
      type: 'publish',
      channel: 'poll:lunch',
      data: { poll: 'lunch', counts: { ramen: 99 }, total: 99, version: 99 },
    })
    assert.equal(forged.error?.code, 'SWB_ERR_CHANNEL_PUBLISH_DISABLED')
    assert.equal((await app.hub.history('poll:lunch')).offset, 3)
  } finally {
    await app.close({ graceful: 0 })
  }
})

test('on the durable broker, a restarted showcase counts the same tally and remembers each vote from the vote log', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'swb-poll-'))
  const open = () =>
    createShowcase({ logger: false }, { broker: new DurableBroker({ dir: join(dir, 'data') }) })
  const get = async (app: ReturnType<typeof createShowcase>, user: string) =>
    (await command(app, user, { type: 'rpc', method: 'poll.get', data: { poll: 'lunch' } })).result
      ?.data as { tally: unknown; vote: string | null }
  try {
    const first = open()
    let before: { tally: unknown; vote: string | null }
    try {
      const vote = (user: string, option: string) =>
        command(first, user, { type: 'rpc', method: 'poll.vote', data: { poll: 'lunch', option } })
      await vote('Ada', 'ramen')
      await vote('Bob', 'pizza')
      await vote('Ada', 'pizza')
      before = await get(first, 'Ada')
      assert.deepEqual(before.tally, {
        poll: 'lunch',
        counts: { ramen: 0, pizza: 2, salad: 0 },
        total: 2,
        version: 3,
      })
      assert.equal(before.vote, 'pizza')
    } finally {
      await first.close({ graceful: 0 })
    }

    const second = open()
    try {
      assert.deepEqual(await get(second, 'Ada'), before)
      assert.equal((await get(second, 'Bob')).vote, 'pizza')
      // The log goes on where it stopped: a revote after the restart is change number 4.
      const moved = await command(second, 'Bob', {
        type: 'rpc',
        method: 'poll.vote',
        data: { poll: 'lunch', option: 'salad' },
      })
      assert.deepEqual((moved.result?.data as { tally: unknown } | undefined)?.tally, {
        poll: 'lunch',
        counts: { ramen: 0, pizza: 1, salad: 1 },
        total: 2,
        version: 4,
      })
    } finally {
      await second.close({ graceful: 0 })
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
