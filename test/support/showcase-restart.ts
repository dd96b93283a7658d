// The restart suite of the showcase pages, run once per signal by
// test/e2e/showcase-restart-{term,kill}-browser.test.ts: the showcase in its own process on the
// durable broker (data in a temp dir) is stopped with the signal and started again. Two pages of
// each demo stay open through the outage, one on WebSocket and one on SSE, and act while the
// server is down (a chat message, a stroke, a vote). Within 10 s of the server's return every
// open page shows the truth, each of those actions once; and an open page shows what a page
// opened afterwards shows.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { chromiumSkipReason } from './chromium.ts'
import { launchChromium, ShowcaseProcess } from './showcase.ts'
import {
  chatLines,
  draw,
  openBoard,
  openDemo,
  pixelsOf,
  say,
  signIn,
  strokesOf,
} from './showcase-pages.ts'

/** How long after the server is back every open page must show the truth. */
const SETTLE_MS = 10_000

// biome-ignore lint/suspicious/noExplicitAny: the pages' test hooks are plain objects
type W = Record<string, any>
const settledLines = (page: Page, want: string[]) =>
  page.waitForFunction(
    (w) => {
      const lines = [...document.querySelectorAll('#log .msg')].map(
        (li) =>
          `${li.querySelector('.who')!.textContent}: ${li.querySelector('.text')!.textContent}${
            /queued|pending|failed/.test((li as HTMLElement).dataset.action ?? '')
              ? ' (pending)'
              : ''
          }`,
      )
      return JSON.stringify(lines) === JSON.stringify(w)
    },
    want,
    { timeout: SETTLE_MS },
  )

/** Declares the suite: every showcase page across a stop with `signal` and a start again. */
export function restartSuite(signal: 'SIGTERM' | 'SIGKILL'): void {
  const poll = signal === 'SIGTERM' ? 'lunch' : 'transport'
  const missing = chromiumSkipReason()
  describe(`showcase pages across a restart after ${signal}`, {
    skip: missing,
    timeout: 240_000,
  }, () => {
    let server: ShowcaseProcess
    let browser: Browser
    /** Ada (signed in as ada), Bob (as grace), and a newcomer (as linus). */
    let ada: BrowserContext
    let bob: BrowserContext
    let newcomer: BrowserContext

    before(async () => {
      server = await ShowcaseProcess.start()
      browser = await launchChromium()
      const viewport = { width: 1000, height: 700 }
      ada = await browser.newContext({ viewport })
      bob = await browser.newContext({ viewport })
      newcomer = await browser.newContext({ viewport })
      await signIn(ada, server.url, 'ada', 'lovelace')
      await signIn(bob, server.url, 'grace', 'hopper')
      await signIn(newcomer, server.url, 'linus', 'torvalds')
    })

    after(async () => {
      await browser?.close()
      await server?.dispose()
    })
    describe(`after ${signal}`, () => {
      const room = `restart-${signal.toLowerCase()}`
      const p: Record<string, Page> = {}
      /** Milliseconds from the server's return until each demo's open pages showed the truth. */
      const settled: Record<string, number> = {}
      let drawnBefore = 0

      before(async () => {
        // Two pages of each demo: Ada's over WebSocket, Bob's over SSE.
        p.chatA = await openDemo(ada, server.url, `/chat?room=${room}`, '__chat', 'Ada')
        p.chatB = await openDemo(
          bob,
          server.url,
          `/chat?room=${room}&transport=sse`,
          '__chat',
          'Bob',
        )
        p.boardA = await openBoard(ada, server.url, room)
        p.boardB = await openBoard(bob, server.url, room, '&transport=sse')
        p.pollA = await openDemo(ada, server.url, `/poll?id=${poll}`, '__poll', 'Ada')
        p.pollB = await openDemo(bob, server.url, `/poll?id=${poll}&transport=sse`, '__poll', 'Bob')
        p.dashA = await openDemo(ada, server.url, '/dashboard', '__dash')
        p.dashB = await openDemo(bob, server.url, '/dashboard?transport=sse', '__dash')

        await say(p.chatA!, 'before the restart')
        await draw(p.boardA!, '#1f6feb', [0.1, 0.2], [0.45, 0.8])
        await draw(p.boardA!, '#b3261e', [0.2, 0.8], [0.8, 0.15])
        await p.boardA!.waitForFunction(() => (window as unknown as W).__board.sending === 0)
        drawnBefore = (await strokesOf(p.boardA!)).length
        await p.pollA!.waitForFunction(() => (window as unknown as W).__poll.ready)
        await p.pollA!.click('button[data-option="websocket"], button[data-option="ramen"]')
        await p.pollB!.waitForFunction(() => (window as unknown as W).__poll.tally?.total === 1)
        await p.chatB!.waitForFunction(() =>
          document.getElementById('log')!.textContent!.includes('before the restart'),
        )

        await server.stopWith(signal)
        for (const page of [p.chatA!, p.boardA!, p.pollB!]) {
          await page.waitForFunction(
            () =>
              Object.values(window as unknown as W).find((h) => h?.client)?.client.state !==
              'connected',
          )
        }
        // While the server is down: a message, a stroke and a vote, each shown as pending.
        await say(p.chatA!, 'typed during the outage')
        assert.deepEqual(await chatLines(p.chatA!), [
          'Ada: before the restart',
          'Ada: typed during the outage (pending)',
        ])
        await draw(p.boardA!, '#1a7f37', [0.55, 0.5], [0.9, 0.9])
        assert.ok((await p.boardA!.evaluate(() => (window as unknown as W).__board.sending)) > 0)
        await p.pollB!.click('button[data-option="sse"], button[data-option="pizza"]')
        assert.match(
          (await p.pollB!.getAttribute('.option[data-action]', 'data-action')) ?? '',
          /queued/,
        )

        await server.restart()
        const back = Date.now()
        const time = (demo: string, work: Promise<unknown>) =>
          work.then(
            () => {
              settled[demo] = Date.now() - back
            },
            async (err) => {
              // What each of the demo's pages holds, to tell why it is not true yet.
              const pages = Object.entries(p).filter(([k]) => k.startsWith(demo.slice(0, 4)))
              for (const [k, page] of pages) {
                const state = await page.evaluate(`(() => {
                  const h = window.__chat ?? window.__board ?? window.__poll ?? window.__dash
                  return JSON.stringify({ state: h.client.state, transport: h.client.transport,
                    strokes: h.strokes?.length, sending: h.sending, tally: h.tally,
                    samples: h.samples?.length, log: document.getElementById('log')?.textContent })
                })()`)
                console.log(`${signal} ${k}: ${state}`)
              }
              throw err
            },
          )
        const want = ['Ada: before the restart', 'Ada: typed during the outage']
        await Promise.all([
          time('chat', Promise.all([settledLines(p.chatA!, want), settledLines(p.chatB!, want)])),
          time(
            'whiteboard',
            Promise.all(
              [p.boardA!, p.boardB!].map((page) =>
                page.waitForFunction(
                  (n) => {
                    const b = (window as unknown as W).__board
                    return b.sending === 0 && b.strokes.length > n
                  },
                  drawnBefore,
                  { timeout: SETTLE_MS },
                ),
              ),
            ),
          ),
          time(
            'poll',
            Promise.all(
              [p.pollA!, p.pollB!].map((page) =>
                page.waitForFunction(
                  () => {
                    const poll = (window as unknown as W).__poll
                    const votes = Object.values(poll.tally?.counts ?? {}).filter((n) => n === 1)
                    return poll.tally?.total === 2 && votes.length === 2
                  },
                  null,
                  { timeout: SETTLE_MS },
                ),
              ),
            ),
          ),
          time(
            'dashboard',
            Promise.all(
              [p.dashA!, p.dashB!].map((page) =>
                page.waitForFunction(
                  (t) => ((window as unknown as W).__dash.samples.at(-1)?.at ?? 0) > t,
                  back,
                  { timeout: SETTLE_MS },
                ),
              ),
            ),
          ),
        ])
        console.log(
          `after ${signal}, ms until every open page was true: ${JSON.stringify(settled)}`,
        )
      })

      after(async () => {
        await Promise.all(Object.values(p).map((page) => page.close()))
      })

      test('chat: both open pages show the message typed during the outage once, and what a fresh page shows', async () => {
        assert.ok(settled.chat! < SETTLE_MS, `${settled.chat} ms`)
        await say(p.chatB!, 'after the restart')
        const want = [
          'Ada: before the restart',
          'Ada: typed during the outage',
          'Bob: after the restart',
        ]
        const fresh = await openDemo(newcomer, server.url, `/chat?room=${room}`, '__chat', 'Cyd')
        for (const page of [p.chatA!, p.chatB!, fresh]) {
          await page.waitForFunction((n) => document.querySelectorAll('#log .msg').length === n, 3)
          assert.deepEqual(await chatLines(page), want)
        }
        await fresh.close()
      })

      test('whiteboard: both open pages keep the drawing, with the stroke drawn during the outage once, as a fresh page shows it', async () => {
        assert.ok(settled.whiteboard! < SETTLE_MS, `${settled.whiteboard} ms`)
        const drawing = await strokesOf(p.boardA!)
        assert.deepEqual(new Set(drawing.map((s) => s.color)).size, 3)
        assert.deepEqual(await strokesOf(p.boardB!), drawing)
        const fresh = await openBoard(newcomer, server.url, room)
        await fresh.waitForFunction(
          (n) => (window as unknown as W).__board.strokes.length === n,
          drawing.length,
        )
        assert.deepEqual(await strokesOf(fresh), drawing)
        const [mine, theirs] = [await pixelsOf(p.boardA!), await pixelsOf(fresh)]
        assert.ok(mine.painted > 1000, `${mine.painted} pixels painted`)
        assert.deepEqual(mine, theirs, 'the same pixels')
        await fresh.close()
      })

      test('poll: both open pages count the vote cast during the outage once, as a fresh page does', async () => {
        assert.ok(settled.poll! < SETTLE_MS, `${settled.poll} ms`)
        const tally = await p.pollA!.evaluate(() => (window as unknown as W).__poll.tally.counts)
        assert.deepEqual(
          await p.pollB!.evaluate(() => (window as unknown as W).__poll.tally.counts),
          tally,
        )
        assert.equal(
          await p.pollB!.getAttribute('.option[data-action]', 'data-action'),
          'confirmed',
        )
        const fresh = await openDemo(newcomer, server.url, `/poll?id=${poll}`, '__poll', 'Cyd')
        await fresh.waitForFunction(() => (window as unknown as W).__poll.ready)
        assert.deepEqual(
          await fresh.evaluate(() => (window as unknown as W).__poll.tally.counts),
          tally,
        )
        await fresh.close()
      })

      test('dashboard: both open pages are live again and hold the samples a fresh page holds', async () => {
        assert.ok(settled.dashboard! < SETTLE_MS, `${settled.dashboard} ms`)
        const fresh = await openDemo(newcomer, server.url, '/dashboard', '__dash')
        const times = (page: Page) =>
          page.evaluate(() =>
            ((window as unknown as W).__dash.samples as { at: number }[]).map((s) => s.at),
          )
        // Compare when the three pages hold the same newest sample.
        for (let tries = 0; ; tries++) {
          const [a, b, f] = await Promise.all([times(p.dashA!), times(p.dashB!), times(fresh)])
          if (a.at(-1) === f.at(-1) && b.at(-1) === f.at(-1)) {
            assert.deepEqual(a, f)
            assert.deepEqual(b, f)
            assert.ok(f.length >= 3, `${f.length} samples`)
            break
          }
          assert.ok(tries < 20, 'the pages never held the same newest sample')
          await fresh.waitForTimeout(100)
        }
        await fresh.close()
      })
    })
  })
}
