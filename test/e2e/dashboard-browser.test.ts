// The showcase metrics dashboard in headless Chromium, two browser contexts (one over WebSocket,
// one over the SSE fallback): the history start, live samples with the delay from the server's
// sample to the page's display measured, and publishing refused.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { createShowcase } from '../../examples/showcase/app.ts'
import { chromiumSkipReason } from '../support/chromium.ts'
import { ensureClientBundle, launchChromium, median } from '../support/showcase.ts'
import { openDemo, transportOf } from '../support/showcase-pages.ts'

const missing = chromiumSkipReason()
// biome-ignore lint/suspicious/noExplicitAny: the page's test hook is a plain object
type W = { __dash: any; __delays: number[] }

/** Records, for every sample the page draws, how long after the server took it the page showed
 * it (the server and the browser share this machine's clock). */
const watchDelays = (page: Page) =>
  page.evaluate(`(() => {
    window.__delays = []
    const cards = document.getElementById('cards')
    new MutationObserver(() => {
      window.__delays.push(Date.now() - Number(cards.dataset.at))
    }).observe(cards, { attributes: true, attributeFilter: ['data-at'] })
  })()`)

describe('showcase dashboard in Chromium', { skip: missing }, () => {
  const app = createShowcase({ logger: false })
  let base = ''
  let browser: Browser

  before(async () => {
    ensureClientBundle()
    base = (await app.listen({ port: 0, host: '127.0.0.1' })).url
    browser = await launchChromium()
  })

  after(async () => {
    await browser?.close()
    await app.close({ graceful: 200 })
  })

  test('pages over WebSocket and SSE start from history and show live samples under 100 ms (median) after the server took them; a client publish is refused', async () => {
    const ws = await openDemo(await browser.newContext(), base, '/dashboard', '__dash')
    const sse = await openDemo(
      await browser.newContext({ viewport: { width: 390, height: 800 } }),
      base,
      '/dashboard?transport=sse',
      '__dash',
    )
    assert.equal(await transportOf(ws, '__dash'), 'websocket')
    assert.equal(await transportOf(sse, '__dash'), 'sse')
    await Promise.all([watchDelays(ws), watchDelays(sse)])
    for (const page of [ws, sse]) {
      await page.waitForFunction(() => (window as unknown as W).__delays.length >= 6, null, {
        timeout: 15_000,
      })
    }
    const figures: Record<string, number> = {}
    for (const [name, page] of [
      ['websocket', ws],
      ['sse', sse],
    ] as const) {
      const delays = (await page.evaluate(() => (window as unknown as W).__delays)) as number[]
      figures[name] = median(delays)
    }
    console.log(`dashboard delay (sample taken → shown), median ms: ${JSON.stringify(figures)}`)
    for (const [k, v] of Object.entries(figures)) assert.ok(v < 100, `${k}: ${v} ms`)

    // A page opened later starts with what the others hold: the history, then live.
    const late = await openDemo(await browser.newContext(), base, '/dashboard', '__dash')
    await late.waitForFunction(() => (window as unknown as W).__dash.samples.length > 0)
    const times = (page: Page) =>
      page.evaluate(() => (window as unknown as W).__dash.samples.map((s: { at: number }) => s.at))
    for (let tries = 0; ; tries++) {
      const [a, b] = await Promise.all([times(ws), times(late)])
      if (a.at(-1) === b.at(-1)) {
        assert.deepEqual(b, a)
        assert.ok(a.length >= 6)
        break
      }
      assert.ok(tries < 20, 'the pages never held the same newest sample')
      await late.waitForTimeout(100)
    }
    const lines = await ws
      .locator('polyline')
      .evaluateAll((els) => els.map((e) => (e.getAttribute('points') ?? '').split(' ').length))
    assert.equal(lines.length, 7)
    assert.ok(
      lines.every((n) => n >= 6),
      String(lines),
    )

    for (const page of [ws, sse]) {
      const code = await page.evaluate(async () => {
        try {
          await (window as unknown as W).__dash.client.publish('metrics:server', { rssBytes: 1 })
          return 'published'
        } catch (err) {
          return (err as { code: string }).code
        }
      })
      assert.equal(code, 'SWB_ERR_CHANNEL_PUBLISH_DISABLED')
    }
  })
})
