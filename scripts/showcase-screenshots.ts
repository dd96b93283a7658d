// Screenshots of the showcase pages for docs/showcase.md, at desktop width and at 390 px:
//   node --import tsx scripts/showcase-screenshots.ts
// Starts the showcase in-process (memory broker) on a free port, drives each page into a state
// worth showing, and writes docs/img/showcase/<page>-<width>.png. Needs /usr/bin/chromium.
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { chromium, type Page } from 'playwright-core'
import { createShowcase } from '../examples/showcase/app.ts'
import { CHROMIUM, CHROMIUM_ARGS } from '../test/support/chromium.ts'

/** What the pages expose for tests and for this script. */
type Win = { __ticker: { watching: Set<string> }; __game: { joined: boolean } }

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
