// The showcase poll in headless Chromium, two browser contexts (Ada over WebSocket, Bob over the
// SSE fallback): votes shown on the other page with the delay measured, revotes, errors in plain
// words, switching polls without being asked the name again, and the join screen.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { createShowcase } from '../../examples/showcase/app.ts'
import { chromiumSkipReason } from '../support/chromium.ts'
import { ensureClientBundle, launchChromium, median } from '../support/showcase.ts'
import { delayOf, openDemo, transportOf } from '../support/showcase-pages.ts'

const missing = chromiumSkipReason()
// biome-ignore lint/suspicious/noExplicitAny: the page's test hook is a plain object
type W = { __poll: any }
type Counts = Record<string, number>
const tallyIs = (page: Page, counts: Counts) =>
  page.waitForFunction((want) => {
    const t = (window as unknown as W).__poll.tally
    return t !== null && Object.entries(want).every(([k, v]) => t.counts[k] === v)
  }, counts)

describe('showcase poll in Chromium', { skip: missing }, () => {
  const app = createShowcase({ logger: false })
  let base = ''
  let browser: Browser
  let desk: BrowserContext
  let phone: BrowserContext

  before(async () => {
    ensureClientBundle()
    base = (await app.listen({ port: 0, host: '127.0.0.1' })).url
    browser = await launchChromium()
    desk = await browser.newContext({ viewport: { width: 1000, height: 700 } })
    phone = await browser.newContext({ viewport: { width: 390, height: 700 } })
  })

  after(async () => {
    await browser?.close()
    await app.close({ graceful: 200 })
  })

  const enter = async (context: BrowserContext, name: string, query: string) => {
    const page = await openDemo(context, base, `/poll${query}`, '__poll', name)
    await page.waitForFunction(() => (window as unknown as W).__poll.ready)
    return page
  }

  test('votes show on the other page over WebSocket and SSE with the median delay under 100 ms; a revote moves the vote; an unknown option is said in plain words', async () => {
    const ada = await enter(desk, 'Ada', '?id=lunch')
    const bob = await enter(phone, 'Bob', '?id=lunch&transport=sse')
    assert.equal(await transportOf(ada, '__poll'), 'websocket')
    assert.equal(await transportOf(bob, '__poll'), 'sse')

    await ada.click('button[data-option="ramen"]')
    await bob.click('button[data-option="pizza"]')
    for (const page of [ada, bob]) await tallyIs(page, { ramen: 1, pizza: 1, salad: 0 })
    assert.equal(await bob.textContent('#total'), '2 votes · yours is highlighted')
    assert.equal(await ada.getAttribute('button[data-option="ramen"]', 'aria-pressed'), 'true')

    // Each voter moves their vote back and forth; the other page shows every change.
    const delays: Record<string, number[]> = { 'websocket → sse': [], 'sse → websocket': [] }
    const choice = { Ada: ['salad', 'ramen'], Bob: ['salad', 'pizza'] }
    for (let i = 0; i < 10; i++) {
      for (const [from, to, key, who] of [
        [ada, bob, 'websocket → sse', 'Ada'],
        [bob, ada, 'sse → websocket', 'Bob'],
      ] as const) {
        const v = await to.evaluate(() => (window as unknown as W).__poll.tally.version)
        const option = choice[who][i % 2]
        const act = `document.querySelector('button[data-option="${option}"]').click()`
        const shown = `window.__poll.tally.version > ${v}`
        delays[key]!.push(await delayOf(from, to, '#options', act, shown))
      }
    }
    const figures = Object.fromEntries(
      Object.entries(delays).map(([k, v]) => [k, Math.round(median(v) * 10) / 10]),
    )
    console.log(`poll delay, median ms: ${JSON.stringify(figures)}`)
    for (const [k, v] of Object.entries(figures)) assert.ok(v < 100, `${k}: ${v} ms`)
    for (const page of [ada, bob]) await tallyIs(page, { ramen: 1, pizza: 1, salad: 0 })
    const pizzaRow = bob.locator('.option', { has: bob.locator('button[data-option="pizza"]') })
    assert.equal(await pizzaRow.locator('.count').textContent(), '1')

    const refused = await ada.evaluate(() => (window as unknown as W).__poll.vote('sushi'))
    assert.deepEqual(refused, {
      ok: false,
      code: 'APP_ERR_POLL_UNKNOWN_OPTION',
      message: 'Poll "lunch" has no option "sushi".',
    })
    const shown = (await ada.textContent('#error')) ?? ''
    assert.equal(shown, 'Poll "lunch" has no option "sushi".')
    assert.doesNotMatch(shown, /_ERR_/)

    const cyd = await enter(desk, 'Cyd', '?id=lunch')
    await tallyIs(cyd, { ramen: 1, pizza: 1, salad: 0 })
    await Promise.all([ada.close(), bob.close(), cyd.close()])
  })

  test('switching polls keeps the name: no join screen, the address follows, and Back returns', async () => {
    const bob = await enter(phone, 'Bob', '?id=lunch')
    await bob.click('#polls button[data-poll="transport"]')
    await bob.waitForFunction(
      () =>
        (window as unknown as W).__poll.ready &&
        (window as unknown as W).__poll.poll === 'transport',
    )
    assert.equal(await bob.isVisible('#join'), false)
    assert.equal(new URL(bob.url()).searchParams.get('id'), 'transport')
    assert.match((await bob.textContent('#question')) ?? '', /transport/)
    await bob.click('button[data-option="sse"]')
    await tallyIs(bob, { sse: 1 })
    await bob.goBack()
    await bob.waitForFunction(
      () =>
        (window as unknown as W).__poll.ready && (window as unknown as W).__poll.poll === 'lunch',
    )
    assert.equal(await bob.textContent('#question'), 'Lunch today?')
    assert.equal(await bob.isVisible('#join'), false)
    await bob.close()
  })

  test('the join screen hides the poll; an invalid name is said in plain words and kept; the name is offered next time', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${base}/poll?id=lunch`)
    assert.equal(await page.isVisible('#poll'), false)
    await page.fill('#name', '<Ada>')
    await page.click('#joinForm button[type="submit"]')
    assert.equal(
      await page.textContent('#joinError'),
      'A name is 1 to 24 letters, digits, spaces or _ . -',
    )
    assert.equal(await page.inputValue('#name'), '<Ada>')
    assert.equal(await page.isVisible('#poll'), false)
    await page.fill('#name', 'Ada')
    await page.click('#joinForm button[type="submit"]')
    await page.waitForFunction(() => (window as unknown as W).__poll.ready)
    const again = await context.newPage()
    await again.goto(`${base}/poll`)
    assert.equal(await again.inputValue('#name'), 'Ada')
    await context.close()
  })
})
