// The poll across restarts of the showcase (SIGTERM, then kill -9): a vote cast during the
// outage is counted once on both open pages, as a fresh page counts it. The suite is in
// test/support/showcase-restart.ts.
import assert from 'node:assert/strict'
import type { Page } from 'playwright-core'
import { openDemo } from '../support/showcase-pages.ts'
import { restartSuite } from '../support/showcase-restart.ts'

// biome-ignore lint/suspicious/noExplicitAny: the page's test hook is a plain object
type W = { __poll: any }
// One poll per round, and the options Ada (before) and Bob (during the outage) pick in it.
const ROUNDS = [
  { poll: 'lunch', ada: 'ramen', bob: 'pizza' },
  { poll: 'transport', ada: 'websocket', bob: 'sse' },
] as const
const counts = (page: Page) => page.evaluate(() => (window as unknown as W).__poll.tally?.counts)
const twoVotes = (page: Page, timeout: number) =>
  page.waitForFunction(
    () => {
      const t = (window as unknown as W).__poll.tally
      return t?.total === 2 && Object.values(t.counts).filter((n) => n === 1).length === 2
    },
    null,
    { timeout },
  )

restartSuite({
  name: 'poll',
  async open(context, base, sse, round) {
    const page = await openDemo(
      context,
      base,
      `/poll?id=${ROUNDS[round]!.poll}${sse ? '&transport=sse' : ''}`,
      '__poll',
      sse ? 'Bob' : 'Ada',
    )
    await page.waitForFunction(() => (window as unknown as W).__poll.ready)
    return page
  },
  async before(a, b, round) {
    await a.click(`button[data-option="${ROUNDS[round]!.ada}"]`)
    await b.waitForFunction(() => (window as unknown as W).__poll.tally?.total === 1)
  },
  async offline(_a, b, round) {
    await b.click(`button[data-option="${ROUNDS[round]!.bob}"]`)
    assert.equal(await b.getAttribute('.option[data-action]', 'data-action'), 'queued')
  },
  async settled(a, b, _back, timeout) {
    await Promise.all([twoVotes(a, timeout), twoVotes(b, timeout)])
  },
  async check(a, b, fresh, round) {
    const { ada, bob } = ROUNDS[round]!
    const tally = await counts(a)
    assert.equal(tally[ada], 1)
    assert.equal(tally[bob], 1)
    assert.deepEqual(await counts(b), tally)
    assert.equal(await b.getAttribute('.option[data-action]', 'data-action'), 'confirmed')
    assert.deepEqual(await counts(fresh), tally)
  },
  state: (page) =>
    page.evaluate(() => ({
      tally: (window as unknown as W).__poll.tally,
      state: (window as unknown as W).__poll.client.state,
    })),
})
