// The metrics dashboard across restarts of the showcase (SIGTERM, then kill -9): both open pages
// are live again within 10 s and hold the samples a fresh page holds. The suite is in
// test/support/showcase-restart.ts.
import assert from 'node:assert/strict'
import type { Page } from 'playwright-core'
import { openDemo } from '../support/showcase-pages.ts'
import { restartSuite } from '../support/showcase-restart.ts'

// biome-ignore lint/suspicious/noExplicitAny: the page's test hook is a plain object
type W = { __dash: any }
const times = (page: Page): Promise<number[]> =>
  page.evaluate(() =>
    ((window as unknown as W).__dash.samples as { at: number }[]).map((s) => s.at),
  )
const live = (page: Page, since: number, timeout: number) =>
  page.waitForFunction(
    (t) => ((window as unknown as W).__dash.samples.at(-1)?.at ?? 0) > t,
    since,
    { timeout },
  )

restartSuite({
  name: 'dashboard',
  open: (context, base, sse) =>
    openDemo(context, base, `/dashboard${sse ? '?transport=sse' : ''}`, '__dash'),
  async before(a, b) {
    const now = Date.now()
    await Promise.all([live(a, now, 10_000), live(b, now, 10_000)])
  },
  async offline() {},
  async settled(a, b, back, timeout) {
    await Promise.all([live(a, back, timeout), live(b, back, timeout)])
  },
  async check(a, b, fresh) {
    // Compare when the three pages hold the same newest sample.
    for (let tries = 0; ; tries++) {
      const [x, y, f] = await Promise.all([times(a), times(b), times(fresh)])
      if (x.at(-1) === f.at(-1) && y.at(-1) === f.at(-1)) {
        assert.deepEqual(x, f)
        assert.deepEqual(y, f)
        assert.ok(f.length >= 3, `${f.length} samples`)
        return
      }
      assert.ok(tries < 30, 'the pages never held the same newest sample')
      await fresh.waitForTimeout(100)
    }
  },
  state: (page) => times(page),
})
