// Screenshots of the showcase pages for docs/showcase.md, at desktop width and at 390 px:
//   node --import tsx scripts/showcase-screenshots.ts
// Starts the showcase in-process (memory broker) on a free port, drives each page into a state
// worth showing, and writes docs/img/showcase/<page>-<width>.png. Needs /usr/bin/chromium.
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { chromium, type Page } from 'playwright-core'
import { createShowcase } from '../examples/showcase/app.ts'
import { CHROMIUM, CHROMIUM_ARGS } from '../test/support/chromium.ts'
import { draw, openBoard, openDemo, say, signIn } from '../test/support/showcase-pages.ts'

/** What the pages expose for tests and for this script. */
type Win = { __ticker: { watching: Set<string> }; __game: { joined: boolean } }
// biome-ignore lint/suspicious/noExplicitAny: the pages' test hooks are plain objects
type W = Record<string, any>

const out = fileURLToPath(new URL('../docs/img/showcase/', import.meta.url))
mkdirSync(out, { recursive: true })
const app = createShowcase({ logger: false })
const base = (await app.listen({ port: 0, host: '127.0.0.1' })).url
const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] })

/** Each page: how to bring it into a state worth showing. */
const pages: Record<string, (page: Page, mobile: boolean) => Promise<void>> = {
  landing: async (page) => {
    await page.goto(base)
  },
  dev: async (page) => {
    await page.goto(`${base}/dev`)
  },
  ticker: async (page, mobile) => {
    const other = await page.context().browser()!.newPage()
    await other.goto(`${base}/ticker?name=Grace`)
    await page.goto(`${base}/ticker?name=${mobile ? 'Linus' : 'Ada'}`)
    await page.waitForFunction(() => (window as unknown as Win).__ticker.watching.size > 0)
    await other.waitForFunction(() => (window as unknown as Win).__ticker.watching.size > 0)
    await other.click('tbody tr:nth-child(2) button[data-side="sell"]')
    await page.click('tbody tr:nth-child(4) button[data-side="buy"]')
    await page.waitForTimeout(700)
    await other.close()
  },
  game: async (page, mobile) => {
    const other = await page.context().browser()!.newPage()
    await other.goto(`${base}/game`)
    await other.fill('#name', 'Grace')
    await other.click('#joinForm button')
    await page.goto(`${base}/game`)
    await page.fill('#name', mobile ? 'Linus' : 'Ada')
    await page.click('#joinForm button')
    await page.waitForFunction(() => (window as unknown as Win).__game.joined)
    for (const key of ['ArrowRight', 'ArrowDown']) {
      await page.keyboard.down(key)
      await page.waitForTimeout(300)
      await page.keyboard.up(key)
    }
    await page.waitForTimeout(300)
    await page.evaluate(
      () => document.activeElement instanceof HTMLElement && document.activeElement.blur(),
    )
  },
  chat: async (page, mobile) => {
    const other = await browser.newContext()
    const grace = await openDemo(other, base, '/chat?room=lobby', '__chat', 'Grace')
    // Said once: the 390 px shot comes second, on the same server.
    if (!mobile) {
      await say(
        grace,
        'Welcome! Long words wrap instead of pushing the send button away: Pneumonoultramicroscopicsilicovolcanoconiosis',
      )
      await app.hub.publish('chat:help', { text: 'Anyone know how the SSE fallback works?' })
    }
    await page.goto(`${base}/chat?room=lobby`)
    await page.fill('#name', mobile ? 'Linus' : 'Ada')
    await page.click('#joinForm button[type="submit"]')
    await page.waitForFunction(() => (window as W).__chat.client?.state === 'connected')
    await say(page, mobile ? 'Hello from my phone' : 'Hi Grace, two windows side by side here')
    await grace.type('#text', 'Nice')
    await page.waitForTimeout(800)
    // `other` stays open until the end, so the screenshot shows its user here
  },
  login: async (page) => {
    await page.goto(`${base}/whiteboard`)
    await page.fill('#name', 'ada')
    await page.fill('#password', 'hunter2')
    await page.click('#login button[type=submit]')
    await page.waitForFunction(() => document.getElementById('error')!.textContent !== '')
  },
  whiteboard: async (page) => {
    const other = await browser.newContext()
    await signIn(other, base, 'grace', 'hopper')
    const grace = await openBoard(other, base, 'main')
    await draw(grace, '#b3261e', [0.1, 0.2], [0.5, 0.75])
    await draw(grace, '#1a7f37', [0.15, 0.85], [0.45, 0.3])
    await signIn(page.context(), base, 'ada', 'lovelace')
    await page.goto(`${base}/whiteboard?board=main`)
    await page.waitForFunction(() => (window as W).__board?.subscribed === true)
    await draw(page, '#1f6feb', [0.35, 0.8], [0.9, 0.2])
    const box = (await grace.locator('#canvas').boundingBox())!
    await grace.mouse.move(box.x + box.width * 0.62, box.y + box.height * 0.6)
    await page.waitForTimeout(800)
    // `other` stays open until the end, so the screenshot shows its user here
  },
  poll: async (page, mobile) => {
    const other = await browser.newContext()
    const grace = await openDemo(other, base, '/poll?id=lunch', '__poll', 'Grace')
    await grace.waitForFunction(() => (window as W).__poll.ready)
    await grace.click('button[data-option="pizza"]')
    await page.goto(`${base}/poll?id=lunch`)
    await page.fill('#name', mobile ? 'Linus' : 'Ada')
    await page.click('#joinForm button[type="submit"]')
    await page.waitForFunction(() => (window as W).__poll.ready)
    await page.click('button[data-option="ramen"]')
    await page.waitForTimeout(2200)
    // `other` stays open until the end, so the screenshot shows its user here
  },
  dashboard: async (page) => {
    await page.goto(`${base}/dashboard`)
    await page.waitForFunction(() => (window as W).__dash.samples.length >= 5, null, {
      timeout: 15000,
    })
  },
}

const only = process.argv.slice(2)
for (const [name, prepare] of Object.entries(pages)) {
  if (only.length > 0 && !only.includes(name)) continue
  for (const [width, height] of [
    [1200, 800],
    [390, 844],
  ] as const) {
    const context = await browser.newContext({ viewport: { width, height } })
    const page = await context.newPage()
    await prepare(page, width < 500)
    await page.screenshot({
      path: `${out}${name}-${width}.png`,
      fullPage: width < 500 && name !== 'ticker',
    })
    await context.close()
    console.log(`${name}-${width}.png`)
  }
}
await browser.close()
await app.close()
