// The arena game in headless Chromium, each player in their own browser context: Ada over
// WebSocket, Bob forced onto SSE. They see each other move (the median delay from a key press on
// one page to its display on the other is measured both ways), a player joining mid-game sees
// everyone, one who leaves disappears, and one whose connection drops catches up.
import assert from 'node:assert/strict'
import { after, afterEach, before, test } from 'node:test'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
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

/** Every context a test opened, closed after it even when it failed (a player left open would
 * stay in the next test's arena). */
const opened: BrowserContext[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()))
})

after(async () => {
  await browser?.close()
  await app.close({ graceful: 200 })
})

type View = { s: string; players: [string, number, number, number][]; coins: number[][] }
interface GameWin {
  __game: {
    joined: boolean
    resyncs: number
    sent: Record<number, number>
    shown: Record<string, number>
    view: () => View
    client: { state: string; transport: string | null }
  }
}

/** Opens the arena in its own browser context, joins as `name`, and waits for the first snapshot. */
async function join(name: string, sse: boolean, width = 1000): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height: 760 } })
  opened.push(context)
  const page = await context.newPage()
  await page.goto(`${base}/game${sse ? '?transport=sse' : ''}`)
  await page.fill('#name', name)
  await page.click('#joinForm button')
  await page.waitForFunction(() => (window as unknown as GameWin).__game.joined)
  return page
}

const viewOf = (page: Page) => page.evaluate(() => (window as unknown as GameWin).__game.view())
const playersOf = async (page: Page) => (await viewOf(page)).players.map((p) => p[0])

/** Waits until every page shows the same world as `pages[0]` and nothing moves. */
async function agree(pages: Page[], timeout = 5000): Promise<View> {
  const deadline = Date.now() + timeout
  for (;;) {
    const views = await Promise.all(pages.map(viewOf))
    const same = views.every((v) => JSON.stringify(v) === JSON.stringify(views[0]))
    if (same) return views[0]!
    if (Date.now() > deadline)
      assert.deepEqual(
        views,
        views.map(() => views[0]),
        'pages disagree',
      )
    await new Promise((r) => setTimeout(r, 50))
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/**
 * Presses and releases arrow keys on `from` (key events dispatched in the page, so the test's own
 * round trips do not pace them); for each input, the delay until `to` first drew that input or a
 * later one of the same player (two inputs can land in one tick).
 */
async function moveDelays(from: Page, name: string, to: Page, count: number): Promise<number[]> {
  const sent = await from.evaluate(async (n) => {
    const g = (window as unknown as GameWin).__game
    const before = new Set(Object.keys(g.sent))
    const keys = ['ArrowRight', 'ArrowDown', 'ArrowLeft', 'ArrowUp']
    for (let i = 0; i < n; i++) {
      const code = keys[i % keys.length]!
      dispatchEvent(new KeyboardEvent('keydown', { code, key: code }))
      await new Promise((r) => setTimeout(r, 120))
      dispatchEvent(new KeyboardEvent('keyup', { code, key: code }))
      await new Promise((r) => setTimeout(r, 150))
    }
    return Object.entries(g.sent)
      .filter(([q]) => !before.has(q))
      .map(([q, at]) => [Number(q), at] as const)
  }, count)
  assert.equal(sent.length, 2 * count, 'one input per key down and per key up')
  const last = Math.max(...sent.map(([q]) => q))
  const shown = (await (
    await to.waitForFunction(
      ([who, top]) => {
        const entries = Object.entries((window as unknown as GameWin).__game.shown)
          .filter(([k]) => k.startsWith(`${who}:`))
          .map(([k, at]) => [Number(k.slice((who as string).length + 1)), at] as const)
        return entries.some(([q]) => q >= (top as number)) ? entries : null
      },
      [name, last] as const,
      { timeout: 15_000 },
    )
  ).jsonValue()) as (readonly [number, number])[]
  return sent.map(([seq, at]) => {
    const first = Math.min(...shown.filter(([q]) => q >= seq).map(([, t]) => t))
    return first - at
  })
}

test('players over WebSocket and SSE see each other move: median delay from key press to the other screen under 100 ms', {
  skip: missing,
}, async (t) => {
  const ada = await join('Ada', false)
  const bob = await join('Bob', true)
  assert.equal(
    await bob.evaluate(() => (window as unknown as GameWin).__game.client.transport),
    'sse',
  )
  assert.equal(
    await ada.evaluate(() => (window as unknown as GameWin).__game.client.transport),
    'websocket',
  )
  await agree([ada, bob])
  assert.deepEqual((await playersOf(ada)).sort(), ['Ada', 'Bob'])

  await moveDelays(ada, 'Ada', bob, 1) // warm-up
  const adaToBob = await moveDelays(ada, 'Ada', bob, 8)
  const bobToAda = await moveDelays(bob, 'Bob', ada, 8)
  t.diagnostic(
    `WebSocket player → SSE page: median ${median(adaToBob).toFixed(1)} ms, max ${Math.max(...adaToBob).toFixed(1)} ms (n=${adaToBob.length})`,
  )
  t.diagnostic(
    `SSE player → WebSocket page: median ${median(bobToAda).toFixed(1)} ms, max ${Math.max(...bobToAda).toFixed(1)} ms (n=${bobToAda.length})`,
  )
  assert.ok(median(adaToBob) < 100, `median ${median(adaToBob)} ms`)
  assert.ok(median(bobToAda) < 100, `median ${median(bobToAda)} ms`)
  // A longer press moves Ada toward the middle, on both screens.
  const x0 = (await agree([ada, bob])).players.find((p) => p[0] === 'Ada')![1]
  const key = x0 > 480 ? 'ArrowLeft' : 'ArrowRight'
  await ada.keyboard.down(key)
  await ada.waitForTimeout(250)
  await ada.keyboard.up(key)
  const x1 = (await agree([ada, bob])).players.find((p) => p[0] === 'Ada')![1]
  assert.ok(key === 'ArrowLeft' ? x1 < x0 - 20 : x1 > x0 + 20, `x ${x0} → ${x1}`)
  await Promise.all([ada.context().close(), bob.context().close()])
})

test('a player joining mid-game sees everyone at once, and one who leaves disappears from every page', {
  skip: missing,
}, async () => {
  const ada = await join('Ada', false)
  const bob = await join('Bob', true)
  await ada.keyboard.down('ArrowDown')
  const cyd = await join('Cyd', false, 390)
  await ada.keyboard.up('ArrowDown')
  const all = await agree([ada, bob, cyd])
  assert.deepEqual(
    all.players.map((p) => p[0]),
    ['Ada', 'Bob', 'Cyd'],
  )
  assert.equal(all.coins.length, 6)
  // At 390 px the arena fits the screen and the move buttons are there.
  assert.ok(await cyd.evaluate(() => document.documentElement.scrollWidth <= 390))
  assert.ok(await cyd.isVisible('.pad button[data-dir="up"]'))

  // Bob closes his page: after the grace period of 3 s he is gone everywhere.
  await bob.context().close()
  for (const page of [ada, cyd]) {
    await page.waitForFunction(
      () => !(window as unknown as GameWin).__game.view().players.some((p) => p[0] === 'Bob'),
      null,
      { timeout: 8000 },
    )
  }
  assert.deepEqual(
    (await agree([ada, cyd])).players.map((p) => p[0]),
    ['Ada', 'Cyd'],
  )
  await Promise.all([ada.context().close(), cyd.context().close()])
})

test('a player whose connection drops catches up: after the reconnect the page shows what the others show', {
  skip: missing,
}, async () => {
  const ada = await join('Ada', false)
  const bob = await join('Bob', true)
  await agree([ada, bob])
  const resyncs = await bob.evaluate(() => (window as unknown as GameWin).__game.resyncs)

  // The server drops Bob; Ada keeps moving while he is away.
  await app.hub.disconnect('Bob')
  await ada.keyboard.down('ArrowRight')
  await ada.waitForTimeout(300)
  await ada.keyboard.up('ArrowRight')
  await bob.waitForFunction((n) => (window as unknown as GameWin).__game.resyncs > n, resyncs, {
    timeout: 8000,
  })
  const view = await agree([ada, bob])
  // A player of the test before may still be within its 3 s grace: only these two matter here.
  assert.deepEqual(
    view.players.map((p) => p[0]).filter((name) => name === 'Ada' || name === 'Bob'),
    ['Ada', 'Bob'],
    'Bob came back within the grace period',
  )
  await Promise.all([ada.context().close(), bob.context().close()])
})
