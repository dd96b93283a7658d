// The chat across restarts of the showcase (SIGTERM, then kill -9): a message typed during the
// outage is delivered once and shown once on both open pages, and they show what a fresh page
// shows. The suite is in test/support/showcase-restart.ts.
import assert from 'node:assert/strict'
import type { Page } from 'playwright-core'
import { chatLines, openDemo, say } from '../support/showcase-pages.ts'
import { restartSuite } from '../support/showcase-restart.ts'

const room = (round: number) => `restart-${round}`
const lines = (page: Page, want: string[], timeout?: number) =>
  page.waitForFunction(
    (w) =>
      JSON.stringify(
        [...document.querySelectorAll('#log .msg')].map(
          (li) =>
            `${li.querySelector('.who')!.textContent}: ${li.querySelector('.text')!.textContent}${
              /queued|pending|failed/.test((li as HTMLElement).dataset.action ?? '')
                ? ' (pending)'
                : ''
            }`,
        ),
      ) === JSON.stringify(w),
    want,
    timeout === undefined ? {} : { timeout },
  )

restartSuite({
  name: 'chat',
  open: (context, base, sse, round) =>
    openDemo(
      context,
      base,
      `/chat?room=${room(round)}${sse ? '&transport=sse' : ''}`,
      '__chat',
      sse ? 'Bob' : 'Ada',
    ),
  async before(a, b) {
    await say(a, 'before the restart')
    // Ada's own line is confirmed by the publish reply, which may reach her page after Bob's
    // page shows the publication: wait for both before the server goes down.
    await Promise.all([
      lines(a, ['Ada: before the restart']),
      lines(b, ['Ada: before the restart']),
    ])
  },
  async offline(a) {
    await say(a, 'typed during the outage')
    assert.deepEqual(await chatLines(a), [
      'Ada: before the restart',
      'Ada: typed during the outage (pending)',
    ])
  },
  async settled(a, b, _back, timeout) {
    const want = ['Ada: before the restart', 'Ada: typed during the outage']
    await Promise.all([lines(a, want, timeout), lines(b, want, timeout)])
  },
  async check(a, b, fresh) {
    // New messages show at once after the restart, from either side.
    await say(b, 'after the restart')
    const want = [
      'Ada: before the restart',
      'Ada: typed during the outage',
      'Bob: after the restart',
    ]
    for (const page of [a, b, fresh]) {
      await lines(page, want)
      assert.deepEqual(await chatLines(page), want)
    }
  },
  state: (page) => chatLines(page),
})
