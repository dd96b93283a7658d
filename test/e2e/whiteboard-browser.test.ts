// The showcase whiteboard in headless Chromium, behind its login: two signed-in browser contexts
// (ada over WebSocket, grace over the SSE fallback) draw on one board with the delay measured;
// cursors, a dropped connection recovered, history for a later page, clear, private team boards,
// and the login itself.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { createShowcase } from '../../examples/showcase/app.ts'
import { chromiumSkipReason } from '../support/chromium.ts'
import { ensureClientBundle, launchChromium, median } from '../support/showcase.ts'
import {
  delayOf,
  draw,
  openBoard,
  signIn,
  strokesOf,
  transportOf,
} from '../support/showcase-pages.ts'

const missing = chromiumSkipReason()
// biome-ignore lint/suspicious/noExplicitAny: the page's test hook is a plain object
type W = { __board: any }
const count = (page: Page) => page.evaluate(() => (window as unknown as W).__board.strokes.length)

describe('showcase whiteboard in Chromium', { skip: missing }, () => {
  const app = createShowcase({ logger: false })
  let base = ''
  let browser: Browser
  let ada: BrowserContext
  let grace: BrowserContext
  let linus: BrowserContext

  before(async () => {
    ensureClientBundle()
    base = (await app.listen({ port: 0, host: '127.0.0.1' })).url
    browser = await launchChromium()
    ada = await browser.newContext({ viewport: { width: 1000, height: 700 } })
    grace = await browser.newContext({ viewport: { width: 390, height: 760 } })
    linus = await browser.newContext({ viewport: { width: 1000, height: 700 } })
    await signIn(ada, base, 'ada', 'lovelace')
    await signIn(grace, base, 'grace', 'hopper')
    await signIn(linus, base, 'linus', 'torvalds')
  })

  after(async () => {
    await browser?.close()
    await app.close({ graceful: 200 })
  })

  test('the login: a page without a session goes to the login, a wrong password is said in plain words and kept, the right one opens the board', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${base}/whiteboard?board=main`)
    assert.equal(new URL(page.url()).pathname, '/login')
    await page.fill('#name', 'ada')
    await page.fill('#password', 'wrong')
    await page.click('#login button[type="submit"]')
    await page.waitForFunction(() => document.getElementById('error')!.textContent !== '')
    assert.equal(
      await page.textContent('#error'),
      'That name and password do not match a demo user.',
    )
    assert.equal(await page.inputValue('#name'), 'ada')
    await page.fill('#password', 'lovelace')
    await page.click('#login button[type="submit"]')
    await page.waitForURL(/\/whiteboard\?board=main$/)
    await page.waitForFunction(() => (window as unknown as W).__board?.subscribed === true)
    assert.equal(await page.textContent('#meName'), 'Signed in as ada')
    const cookie = (await context.cookies()).find((c) => c.name === 'swb_session')!
    assert.equal(cookie.httpOnly, true)
    assert.equal(await page.evaluate(() => document.cookie), '', 'the page cannot read it')
    await context.close()
  })

  test('strokes go both ways between WebSocket and SSE with the median delay under 100 ms; cursors show; clear is shared', async () => {
    const a = await openBoard(ada, base, 'delay')
    const g = await openBoard(grace, base, 'delay', '&transport=sse')
    assert.equal(await transportOf(a, '__board'), 'websocket')
    assert.equal(await transportOf(g, '__board'), 'sse')
    await a.waitForFunction(() => (window as unknown as W).__board.members.length === 2)

    // A short line drawn with pointer events, from the sender's page script.
    const line = (y: number) => `{
      const c = document.getElementById('canvas'), r = c.getBoundingClientRect()
      const ev = (type, x) => c.dispatchEvent(new PointerEvent(type, { pointerId: 1, bubbles: true,
        clientX: r.left + r.width * x, clientY: r.top + r.height * ${y} }))
      ev('pointerdown', 0.2); ev('pointermove', 0.4); ev('pointerup', 0.4)
    }`
    const delays: Record<string, number[]> = { 'websocket → sse': [], 'sse → websocket': [] }
    for (let i = 0; i < 10; i++) {
      for (const [from, to, key] of [
        [a, g, 'websocket → sse'],
        [g, a, 'sse → websocket'],
      ] as const) {
        const n = await count(to)
        const shown = `Number(document.getElementById('stage').dataset.strokes) > ${n}`
        delays[key]!.push(await delayOf(from, to, '#stage', line(0.1 + i * 0.08), shown))
      }
    }
    const figures = Object.fromEntries(
      Object.entries(delays).map(([k, v]) => [k, Math.round(median(v) * 10) / 10]),
    )
    console.log(`whiteboard delay, median ms: ${JSON.stringify(figures)}`)
    for (const [k, v] of Object.entries(figures)) assert.ok(v < 100, `${k}: ${v} ms`)
    await a.waitForFunction(() => (window as unknown as W).__board.sending === 0)
    await g.waitForFunction(() => (window as unknown as W).__board.sending === 0)
    assert.deepEqual(await strokesOf(g), await strokesOf(a))
    assert.equal((await strokesOf(a)).length, 20)

    // Ada's cursor, on the conflated cursor channel, shows on Grace's page.
    const box = (await a.locator('#canvas').boundingBox())!
    await a.mouse.move(box.x + box.width * 0.75, box.y + box.height * 0.5)
    await g.waitForFunction(() => {
      const c = (window as unknown as W).__board.cursors.ada
      return c !== undefined && Math.abs(c.x - 0.75) < 0.01
    })

    await g.click('#clear')
    for (const page of [a, g]) {
      await page.waitForFunction(() => (window as unknown as W).__board.strokes.length === 0)
    }
    await Promise.all([a.close(), g.close()])
  })

  test('a page the server dropped recovers what it missed, and a later page gets the drawing from history', async () => {
    const a = await openBoard(ada, base, 'history')
    const g = await openBoard(grace, base, 'history', '&transport=sse')
    await draw(a, '#1f6feb', [0.1, 0.3], [0.6, 0.5])
    await a.waitForFunction(() => (window as unknown as W).__board.sending === 0)
    const drawn = await strokesOf(a)
    await g.waitForFunction(
      (n) => (window as unknown as W).__board.strokes.length === n,
      drawn.length,
    )

    await app.hub.disconnect('grace')
    await app.hub.publish('board:history', {
      type: 'stroke',
      color: '#1a7f37',
      width: 6,
      points: [
        [0.9, 0.9],
        [0.95, 0.95],
      ],
    })
    const want = [...drawn, { user: 'server', color: '#1a7f37', points: 2 }]
    await g.waitForFunction(
      (n) => (window as unknown as W).__board.strokes.length === n,
      want.length,
      {
        timeout: 10_000,
      },
    )
    assert.deepEqual(await strokesOf(g), want)

    const later = await openBoard(linus, base, 'history')
    await later.waitForFunction(
      (n) => (window as unknown as W).__board.strokes.length === n,
      want.length,
    )
    assert.deepEqual(await strokesOf(later), want)
    await Promise.all([a.close(), g.close(), later.close()])
  })

  test('a team board is private: its members draw on it, anyone else is refused in plain words and sees nothing', async () => {
    const a = await openBoard(ada, base, 'team-design')
    const g = await openBoard(grace, base, 'team-design', '&transport=sse')
    await draw(a, '#8250df', [0.2, 0.2], [0.8, 0.8])
    await g.waitForFunction(() => (window as unknown as W).__board.strokes.length > 0)
    assert.ok((await a.locator('#boards a[data-board="team-design"]').count()) === 1)

    const page = await linus.newPage()
    await page.goto(`${base}/whiteboard?board=team-design`)
    await page.waitForFunction(() => document.getElementById('note')!.textContent !== '')
    assert.equal(await page.textContent('#note'), 'You are not allowed to do that here.')
    assert.equal(await count(page), 0)
    assert.equal(await page.locator('#boards a[data-board="team-design"]').count(), 0)
    assert.deepEqual(
      await page.$$eval('#boards a', (els) => els.map((e) => (e as HTMLElement).dataset.board)),
      ['main', 'sketches', 'team-ops'],
    )
    await Promise.all([a.close(), g.close(), page.close()])
  })
})
