// The whiteboard, live poll and metrics dashboard in headless Chromium, loading the client
// bundle the server serves; in each demo one page forces the SSE transport.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { createShowcase } from '../../examples/showcase/app.ts'
import { CHROMIUM, CHROMIUM_ARGS, chromiumSkipReason } from '../support/chromium.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const missing = chromiumSkipReason()

let browser: Browser
let context: BrowserContext
const app = createShowcase({ logger: false })
let base = ''

function newest(dir: string): number {
  let t = 0
  for (const name of readdirSync(dir)) {
    const full = join(dir, name)
    const st = statSync(full)
    t = Math.max(t, st.isDirectory() ? newest(full) : st.mtimeMs)
  }
  return t
}

/** Builds the served bundle only when it is missing or older than its sources. */
function ensureBundle(): void {
  const bundle = join(root, 'dist/client/switchboard-client.js')
  const sources = Math.max(newest(join(root, 'src/client')), newest(join(root, 'src/protocol')))
  if (existsSync(bundle) && statSync(bundle).mtimeMs >= sources) return
  const built = spawnSync(process.execPath, [join(root, 'scripts/build-client.mjs')], {
    encoding: 'utf8',
  })
  assert.equal(built.status, 0, built.stderr)
}

before(async () => {
  if (missing) return
  ensureBundle()
  base = (await app.listen({ port: 0, host: '127.0.0.1' })).url
  browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] })
  context = await browser.newContext({ viewport: { width: 1000, height: 700 } })
})

after(async () => {
  await browser?.close()
  await app.close({ graceful: 200 })
})

type Win = Record<string, Record<string, unknown>>

/** Opens a demo page, joins as `name` when the page has a join form, waits for `connected`. */
async function open(path: string, name?: string): Promise<Page> {
  const page = await context.newPage()
  await page.goto(`${base}${path}`)
  if (name !== undefined) {
    await page.fill('#name', name)
    await page.click('#joinForm button')
  }
  await page.waitForFunction(() =>
    document.getElementById('status')!.textContent!.startsWith('connected'),
  )
  return page
}

async function transportOf(page: Page): Promise<string> {
  return (await page.textContent('#status')) ?? ''
}

test('whiteboard: a stroke drawn on one page reaches another over SSE with the cursor, a dropped page recovers, a later page gets it from history, and clear is shared', {
  skip: missing,
}, async () => {
  const ada = await open('/whiteboard?board=e2e', 'Ada')
  const bob = await open('/whiteboard?board=e2e&transport=sse', 'Bob')
  assert.match(await transportOf(bob), /over sse/)
  await ada.waitForFunction(() => {
    const m = (window as unknown as Win).__board!.members as string[]
    return m.length === 2
  })

  // Ada draws a line with the mouse: the page chunks it into stroke publications.
  const box = (await ada.locator('#canvas').boundingBox())!
  await ada.mouse.move(box.x + box.width * 0.2, box.y + box.height * 0.3)
  await ada.mouse.down()
  for (let i = 1; i <= 20; i++) {
    await ada.mouse.move(
      box.x + box.width * (0.2 + i * 0.02),
      box.y + box.height * (0.3 + i * 0.01),
    )
  }
  await ada.mouse.up()
  const strokes = () =>
    ((window as unknown as Win).__board!.strokes as { user: string; points: number[][] }[]).map(
      (s) => ({ user: s.user, points: s.points.length }),
    )
  await bob.waitForFunction(
    () => ((window as unknown as Win).__board!.strokes as unknown[]).length > 0,
  )
  // Wait until every chunk Ada sent has come back to her page, then compare both pages.
  await ada.waitForFunction(() => (window as unknown as Win).__board!.sending === 0)
  const adaSees = await ada.evaluate(strokes)
  await bob.waitForFunction(
    (n) => ((window as unknown as Win).__board!.strokes as unknown[]).length === n,
    adaSees.length,
  )
  assert.deepEqual(await bob.evaluate(strokes), adaSees)
  assert.ok(adaSees.every((s) => s.user === 'Ada'))
  // The line's 21 points, split into chunks that each repeat the previous chunk's last point.
  const total = adaSees.reduce((n, s) => n + s.points, 0)
  assert.equal(total - (adaSees.length - 1), 21)
  const first = await bob.evaluate(
    () => ((window as unknown as Win).__board!.strokes as { points: number[][] }[])[0]!.points[0]!,
  )
  assert.ok(Math.abs(first[0]! - 0.2) < 0.01 && Math.abs(first[1]! - 0.3) < 0.01, String(first))

  // Ada's cursor, published on the conflated cursor namespace, shows on Bob's page.
  await ada.mouse.move(box.x + box.width * 0.75, box.y + box.height * 0.5)
  await bob.waitForFunction(() => {
    const c = ((window as unknown as Win).__board!.cursors as Record<string, { x: number }>).Ada
    return c !== undefined && Math.abs(c.x - 0.75) < 0.01
  })

  // The server drops Bob (on SSE) and a stroke is published while he is away: the client SDK
  // resumes the subscription and recovers it.
  await app.hub.disconnect('Bob')
  await app.hub.publish('board:e2e', {
    type: 'stroke',
    color: '#1a7f37',
    width: 6,
    points: [
      [0.9, 0.9],
      [0.95, 0.95],
    ],
  })
  await bob.waitForFunction(
    (n) => ((window as unknown as Win).__board!.strokes as unknown[]).length === n,
    adaSees.length + 1,
    { timeout: 10_000 },
  )
  assert.deepEqual(await bob.evaluate(() => (window as unknown as Win).__board!.subscribed), {
    wasRecovering: true,
    recovered: true,
  })
  const bobSees = await bob.evaluate(strokes)
  assert.deepEqual(bobSees.at(-1), { user: 'server', points: 2 })

  // A page opened later gets the earlier strokes from the channel's history.
  const cyd = await open('/whiteboard?board=e2e', 'Cyd')
  await cyd.waitForFunction(
    (n) => ((window as unknown as Win).__board!.strokes as unknown[]).length === n,
    bobSees.length,
  )
  assert.deepEqual(await cyd.evaluate(strokes), bobSees)

  // Clear is a publication too: every page drops the strokes.
  await bob.click('#clear')
  for (const page of [ada, bob, cyd]) {
    await page.waitForFunction(
      () => ((window as unknown as Win).__board!.strokes as unknown[]).length === 0,
    )
  }
  await Promise.all([ada.close(), bob.close(), cyd.close()])
})

type Tally = { counts: Record<string, number>; total: number }

test('poll: two users vote and both pages show the tally, a revote moves the vote, a bad option gets a coded error', {
  skip: missing,
}, async () => {
  const ada = await open('/poll?id=lunch', 'Ada')
  const bob = await open('/poll?id=lunch&transport=sse', 'Bob')
  assert.match(await transportOf(bob), /over sse/)
  for (const page of [ada, bob]) {
    await page.waitForFunction(() => (window as unknown as Win).__poll!.ready === true)
  }
  const tallyIs = (page: Page, counts: Record<string, number>) =>
    page.waitForFunction((want) => {
      const t = (window as unknown as Win).__poll!.tally as Tally | null
      return t !== null && Object.entries(want).every(([k, v]) => t.counts[k] === v)
    }, counts)

  await ada.click('button[data-option="ramen"]')
  await bob.click('button[data-option="pizza"]')
  for (const page of [ada, bob]) await tallyIs(page, { ramen: 1, pizza: 1, salad: 0 })
  assert.equal(await bob.textContent('#total'), '2 votes · yours is highlighted')
  assert.equal(await ada.getAttribute('button[data-option="ramen"]', 'aria-pressed'), 'true')

  // Ada changes her mind: the vote moves, the total stays.
  await ada.click('button[data-option="pizza"]')
  for (const page of [ada, bob]) await tallyIs(page, { ramen: 0, pizza: 2, salad: 0 })
  const tally = (await bob.evaluate(() => (window as unknown as Win).__poll!.tally)) as Tally
  assert.equal(tally.total, 2)
  const pizzaRow = bob.locator('.option', { has: bob.locator('button[data-option="pizza"]') })
  assert.equal(await pizzaRow.locator('.count').textContent(), '2')

  // An option the poll does not have is refused with a coded error, shown on the page.
  const refused = await ada.evaluate(() =>
    ((window as unknown as Win).__poll!.vote as (o: string) => Promise<unknown>)('sushi'),
  )
  assert.deepEqual(refused, { ok: false, code: 'APP_ERR_POLL_UNKNOWN_OPTION' })
  assert.match((await ada.textContent('#error')) ?? '', /^APP_ERR_POLL_UNKNOWN_OPTION: /)

  // A late joiner sees the current tally at once.
  const cyd = await open('/poll?id=lunch', 'Cyd')
  await tallyIs(cyd, { ramen: 0, pizza: 2, salad: 0 })
  await Promise.all([ada.close(), bob.close(), cyd.close()])
})

test('dashboard: pages over WebSocket and SSE receive live metrics with numeric fields, and a client publish there is refused', {
  skip: missing,
}, async () => {
  const ws = await open('/dashboard')
  const sse = await open('/dashboard?transport=sse')
  assert.match(await transportOf(ws), /over websocket/)
  assert.match(await transportOf(sse), /over sse/)
  for (const page of [ws, sse]) {
    await page.waitForFunction(
      () => ((window as unknown as Win).__dash!.received as number) >= 2,
      null,
      {
        timeout: 8000,
      },
    )
  }
  const samples = (await ws.evaluate(() => (window as unknown as Win).__dash!.samples)) as Record<
    string,
    unknown
  >[]
  assert.ok(samples.length >= 2)
  for (const s of samples) {
    for (const field of [
      'loopDelayMeanMs',
      'loopDelayP99Ms',
      'rssBytes',
      'heapUsedBytes',
      'connections',
      'publicationsPerSecond',
    ]) {
      assert.equal(typeof s[field], 'number', field)
    }
  }
  assert.ok((samples.at(-1)!.connections as number) >= 2, 'both dashboard pages are counted')
  // The sparkline of every metric has points.
  const lines = await ws
    .locator('polyline')
    .evaluateAll((els) => els.map((e) => (e.getAttribute('points') ?? '').split(' ').length))
  assert.equal(lines.length, 7)
  assert.ok(
    lines.every((n) => n >= 2),
    String(lines),
  )

  for (const page of [ws, sse]) {
    const code = await page.evaluate(async () => {
      const client = (window as unknown as Win).__dash!.client as {
        publish: (c: string, d: unknown) => Promise<unknown>
      }
      try {
        await client.publish('metrics:server', { rssBytes: 1 })
        return 'published'
      } catch (err) {
        return (err as { code: string }).code
      }
    })
    assert.equal(code, 'SWB_ERR_CHANNEL_PUBLISH_DISABLED')
  }
  await Promise.all([ws.close(), sse.close()])
})
