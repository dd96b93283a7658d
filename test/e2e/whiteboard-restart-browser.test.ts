// The whiteboard across restarts of the showcase (SIGTERM, then kill -9): both open pages keep
// the drawing, a stroke drawn during the outage shows once, and they show what a fresh page
// shows, to the pixel. The suite is in test/support/showcase-restart.ts.
import assert from 'node:assert/strict'
import type { Page } from 'playwright-core'
import { draw, openBoard, pixelsOf, strokesOf } from '../support/showcase-pages.ts'
import { restartSuite } from '../support/showcase-restart.ts'

// biome-ignore lint/suspicious/noExplicitAny: the page's test hook is a plain object
type W = { __board: any }
const drawnBefore = new Map<number, number>()
const settledBoard = (page: Page, before: number, timeout: number) =>
  page.waitForFunction(
    (n) => {
      const b = (window as unknown as W).__board
      return b.sending === 0 && b.strokes.length > n
    },
    before,
    { timeout },
  )

let round = 0
restartSuite({
  name: 'whiteboard',
  open: (context, base, sse, r) =>
    openBoard(context, base, `restart-${r}`, sse ? '&transport=sse' : ''),
  async before(a, b, r) {
    round = r
    await draw(a, '#1f6feb', [0.1, 0.2], [0.45, 0.8])
    await draw(a, '#b3261e', [0.2, 0.8], [0.8, 0.15])
    await a.waitForFunction(() => (window as unknown as W).__board.sending === 0)
    const n = (await strokesOf(a)).length
    drawnBefore.set(r, n)
    await b.waitForFunction((k) => (window as unknown as W).__board.strokes.length === k, n)
  },
  async offline(a) {
    await draw(a, '#1a7f37', [0.55, 0.5], [0.9, 0.9])
    assert.ok((await a.evaluate(() => (window as unknown as W).__board.sending)) > 0)
  },
  async settled(a, b, _back, timeout) {
    const n = drawnBefore.get(round)!
    await Promise.all([settledBoard(a, n, timeout), settledBoard(b, n, timeout)])
  },
  async check(a, b, fresh) {
    const drawing = await strokesOf(a)
    assert.equal(new Set(drawing.map((s) => s.color)).size, 3)
    assert.deepEqual(await strokesOf(b), drawing)
    await fresh.waitForFunction(
      (n) => (window as unknown as W).__board.strokes.length === n,
      drawing.length,
    )
    assert.deepEqual(await strokesOf(fresh), drawing)
    const [mine, theirs] = [await pixelsOf(a), await pixelsOf(fresh)]
    assert.ok(mine.painted > 1000, `${mine.painted} pixels painted`)
    assert.deepEqual(mine, theirs, 'the same pixels')
  },
  state: (page) =>
    page.evaluate(() => ({
      strokes: (window as unknown as W).__board.strokes.length,
      sending: (window as unknown as W).__board.sending,
      state: (window as unknown as W).__board.client.state,
    })),
})
