// The landing page and the developer page in headless Chromium: what Switchboard is, the demos as
// cards that open, docs that answer, every route listed, no link that answers an error, and
// nothing wider than a 390 px phone on the landing, developer, ticker and game pages.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type Browser, chromium } from 'playwright-core'
import { createShowcase } from '../../examples/showcase/app.ts'
import { CHROMIUM, CHROMIUM_ARGS, chromiumSkipReason } from '../support/chromium.ts'
import { ensureClientBundle } from '../support/served-bundle.ts'

const missing = chromiumSkipReason()
let browser: Browser
const app = createShowcase({ logger: false })
let base = ''

before(async () => {
  if (missing) return
  ensureClientBundle()
  base = (await app.listen({ port: 0, host: '127.0.0.1' })).url
  browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] })
})

after(async () => {
  await browser?.close()
  await app.close({ graceful: 200 })
})

/** Every same-origin link on the page answers 2xx to a GET. */
async function linksAnswer(hrefs: string[]): Promise<void> {
  const own = [...new Set(hrefs)].filter((h) => h.startsWith(base))
  const answers = await Promise.all(own.map(async (h) => [h, (await fetch(h)).status] as const))
  assert.deepEqual(
    answers.filter(([, status]) => status >= 300),
    [],
    'links that do not answer 2xx',
  )
}

test('the landing page says what Switchboard is, shows every demo as a card that opens, tells to open two windows, and links docs that answer', {
  skip: missing,
}, async () => {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } })
  await page.goto(base)
  assert.match((await page.textContent('.ui-lead')) ?? '', /^Switchboard is a TypeScript framework/)
  assert.match((await page.textContent('#try')) ?? '', /two windows/)
  const cards = await page.$$eval('a.ui-card-link', (as) =>
    as.map((a) => [a.getAttribute('href'), a.querySelector('h3')!.textContent]),
  )
  const have = new Set(app.routes.map((r) => r.path))
  const demos = ['/chat', '/whiteboard', '/poll', '/ticker', '/game', '/dashboard']
  assert.deepEqual(
    cards.map(([href]) => href).filter((h) => demos.includes(h!)),
    demos,
    'the six demos, in order',
  )
  assert.ok(
    cards.every(([href]) => have.has(href!)),
    'no card for a page this server lacks',
  )
  // The route table is on the developer page now, not here; the channel endpoint is linked nowhere.
  assert.equal(await page.$('table'), null)
  const hrefs = await page.$$eval('a', (as) => as.map((a) => (a as HTMLAnchorElement).href))
  assert.ok(!hrefs.some((h) => h.endsWith('/switchboard')))
  assert.ok(hrefs.some((h) => h.endsWith('/dev')))
  const docs = hrefs.filter((h) => h.includes('/docs/'))
  assert.ok(docs.length >= 5, `${docs.length} docs links`)
  await linksAnswer(hrefs)
  const readme = await fetch(`${base}/docs/README.md`)
  assert.match(readme.headers.get('content-type') ?? '', /^text\/plain/)
  assert.match(await readme.text(), /^# Switchboard/)
  assert.equal((await fetch(`${base}/docs/..%2Fpackage.json`)).status, 404)
  assert.equal((await fetch(`${base}/docs/secrets.md`)).status, 404)

  // The cards and links are reachable with the keyboard, with a visible focus ring.
  await page.keyboard.press('Tab')
  const focused = await page.evaluate(() => {
    const el = document.activeElement as HTMLElement
    return { tag: el.tagName, outline: getComputedStyle(el).outlineStyle }
  })
  assert.deepEqual(focused, { tag: 'A', outline: 'solid' })
  await page.close()
})

test('the developer page lists every route once, pages first, and links none that answers an error', {
  skip: missing,
}, async () => {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } })
  await page.goto(`${base}/dev`)
  const paths = await page.$$eval('tbody code.path', (cs) => cs.map((c) => c.textContent))
  const expected = new Set(
    app.routes.filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS').map((r) => r.path),
  )
  assert.deepEqual(new Set(paths), expected)
  assert.equal(paths.length, expected.size, 'one row per path')
  assert.deepEqual(paths.slice(0, 2), ['/', '/dev'])
  assert.ok(paths.indexOf('/chat') < paths.indexOf('/health'), 'pages before APIs')
  // The channel endpoint is explained, not linked.
  const row = page.locator('tr', { has: page.locator('code.path', { hasText: /^\/switchboard$/ }) })
  assert.equal(await row.locator('a').count(), 0)
  assert.match((await row.textContent()) ?? '', /for the client SDK|client SDK connects/)
  const hrefs = await page.$$eval('a', (as) => as.map((a) => (a as HTMLAnchorElement).href))
  await linksAnswer(hrefs)
  await page.close()
})

test('at 390 px the landing, developer, ticker and game pages are no wider than the screen', {
  skip: missing,
}, async () => {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } })
  for (const path of ['/', '/dev', '/ticker', '/game']) {
    await page.goto(`${base}${path}`)
    const width = await page.evaluate(() => document.documentElement.scrollWidth)
    assert.ok(width <= 390, `${path} is ${width} px wide`)
  }
  // The game's join form: labelled, and its button on screen.
  assert.equal(await page.textContent('label[for="name"]'), 'Your name')
  const box = (await page.locator('#joinForm button').boundingBox())!
  assert.ok(box.x >= 0 && box.x + box.width <= 390, JSON.stringify(box))
  await page.close()
})
