// The ticker and the game across a restart of `npm start` (data in a temp dir), for the two test
// files ticker-game-sigterm-browser and ticker-game-sigkill-browser (one signal each, so each file
// stays well inside the runner's per-file budget). Open pages, over WebSocket and over SSE, show the outage (a banner with
// a countdown), and within 10 s of the server's return show what a fresh page shows: the new
// market run with no stale trade marker and live quotes on every row on screen, the same arena as
// a newcomer. A trade clicked during the outage is filled once, after the restart.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { CHROMIUM, CHROMIUM_ARGS, chromiumSkipReason } from './chromium.ts'
import { freePort, type ShowcaseProcess, startShowcase, stopShowcase } from './showcase-process.ts'

const missing = chromiumSkipReason()
/** Every open page must show the fresh state within this long after the server is back. */
const FRESH_WITHIN_MS = 10_000

type Row = { s: string; at: number; trade: { id: number; by: string } | null }
interface Win {
  __ticker: {
    session: string
    watching: Set<string>
    rows: Map<string, Row>
    client: { state: string; transport: string | null }
  }
  __game: {
    joined: boolean
    view: () => { s: string; players: unknown[][]; coins: unknown[][] }
    client: { state: string; transport: string | null }
  }
}

/** Registers the suite for one signal. */
export function tickerGameRestartSuite(signal: 'SIGTERM' | 'SIGKILL'): void {
  describe(`the ticker and the game across a restart of npm start by ${signal}`, {
    skip: missing,
    timeout: 110_000,
  }, () => {
    let dataDir = ''
    let port = 0
    let server: ShowcaseProcess | undefined
    let browser: Browser | undefined
    let context: BrowserContext
    const base = () => `http://127.0.0.1:${port}`

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'swb-ticker-game-'))
      port = await freePort()
      server = await startShowcase(port, join(dataDir, 'data'))
      browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] })
      context = await browser.newContext({ viewport: { width: 1000, height: 700 } })
    })

    after(async () => {
      await browser?.close()
      if (server !== undefined) await stopShowcase(server, 'SIGKILL')
      if (dataDir !== '') rmSync(dataDir, { recursive: true, force: true })
    })

    /** A page: names come from the URL or the join form, so the pages share one context. */
    async function page(path: string): Promise<Page> {
      const p = await context.newPage()
      await p.goto(`${base()}${path}`)
      return p
    }

    async function ticker(name: string, sse: boolean): Promise<Page> {
      const p = await page(`/ticker?name=${name}${sse ? '&transport=sse' : ''}`)
      await p.waitForFunction(() => {
        const t = (window as unknown as Win).__ticker
        return t.client.state === 'connected' && t.client.transport !== null && t.watching.size > 0
      })
      return p
    }

    async function game(name: string, sse: boolean): Promise<Page> {
      const p = await page(`/game${sse ? '?transport=sse' : ''}`)
      await p.fill('#name', name)
      await p.click('#joinForm button')
      await p.waitForFunction(() => (window as unknown as Win).__game.joined)
      return p
    }

    /** The ticker page shows market run `session`, no trade but `trades`, and quotes of that run
     * received after `since` on every row it follows. */
    const tickerFresh = (p: Page, session: string, since: number, trades: Record<string, string>) =>
      p.waitForFunction(
        ([s, t0, want]) => {
          const t = (window as unknown as Win).__ticker
          if (t.session !== s || t.client.state !== 'connected') return false
          const marked: Record<string, string> = {}
          for (const [symbol, r] of t.rows) if (r.trade) marked[symbol] = r.trade.by
          if (JSON.stringify(marked) !== JSON.stringify(want)) return false
          const shown = [...document.querySelectorAll('.last')].filter((e) => e.textContent !== '')
          if (shown.length !== Object.keys(want).length) return false
          return [...t.watching].every((symbol) => {
            const r = t.rows.get(symbol)!
            return r.s === s && r.at > (t0 as number)
          })
        },
        [session, since, trades] as const,
        { timeout: FRESH_WITHIN_MS },
      )

    /** The game pages agree with each other (a newcomer among them) and are on run `run`. */
    async function gamesAgree(pages: Page[], run: string, within: number): Promise<void> {
      const deadline = Date.now() + within
      for (;;) {
        const views = await Promise.all(
          pages.map((p) => p.evaluate(() => (window as unknown as Win).__game.view())),
        )
        const json = views.map((v) => JSON.stringify(v))
        if (views[0]!.s === run && json.every((j) => j === json[0])) return
        if (Date.now() > deadline)
          assert.deepEqual(
            views,
            views.map(() => views[0]),
            'pages disagree',
          )
        await new Promise((r) => setTimeout(r, 50))
      }
    }

    async function restart(
      signal: 'SIGTERM' | 'SIGKILL',
      open: Page[],
      during?: () => Promise<void>,
    ) {
      const exited = await stopShowcase(server!, signal)
      if (signal === 'SIGTERM') assert.deepEqual(exited, { code: 0, signal: null })
      else assert.deepEqual(exited, { code: null, signal: 'SIGKILL' })
      // Every open page says the connection is lost and counts down to the next try.
      for (const p of open) {
        await p.waitForFunction(
          () =>
            /^Connection lost\. Reconnecting( in \d+ s)?…$/.test(
              document.querySelector('.ui-banner-text')?.textContent ?? '',
            ),
          null,
          { timeout: 8000 },
        )
      }
      await during?.()
      server = await startShowcase(port, join(dataDir, 'data'))
      return Date.now()
    }
    test(`after ${signal === 'SIGTERM' ? 'SIGTERM' : 'kill -9'}, every open ticker and game page shows what a fresh page shows within 10 s, and a trade made during the outage is filled once`, async () => {
      const tWs = await ticker('Ada', false)
      const tSse = await ticker('Bob', true)
      const gWs = await game('Ada', false)
      const gSse = await game('Bob', true)
      const symbol = [
        ...(await tWs.evaluate(() => [...(window as unknown as Win).__ticker.watching])),
      ][0]!
      // Before: a trade marker on both ticker pages, and Ada has moved in the arena.
      await tWs.click(`tr[data-symbol="${symbol}"] button[data-side="buy"]`)
      await tSse
        .waitForFunction(
          (s) => (window as unknown as Win).__ticker.rows.get(s)!.trade?.by === 'Ada',
          symbol,
          { timeout: 15_000 },
        )
        .catch(async (err: Error) => {
          const seen = await tSse.evaluate((s) => {
            const t = (window as unknown as Win).__ticker as unknown as Record<string, unknown> &
              Win['__ticker']
            return JSON.stringify({ transport: t.client.transport, row: t.rows.get(s), log: t.log })
          }, symbol)
          throw new Error(`Ada's trade not shown on the SSE page: ${seen}`, { cause: err })
        })
      await gWs.keyboard.down('ArrowDown')
      await gWs.waitForTimeout(200)
      await gWs.keyboard.up('ArrowDown')

      const back = await restart(signal, [tWs, tSse, gWs, gSse], async () => {
        // Bob buys while the server is down: the page says it waits for the connection.
        await tSse.click(`tr[data-symbol="${symbol}"] button[data-side="buy"]`)
        assert.equal(
          await tSse.getAttribute(`tr[data-symbol="${symbol}"] td.trade`, 'data-action'),
          'queued',
        )
      })
      const market = (await (await fetch(`${base()}/api/ticker`)).json()) as { session: string }

      // The ticker: the new run everywhere, only Bob's trade from the outage (once, as trade 1),
      // and live quotes of the new run on every row on screen.
      const fresh = await ticker('Cyd', false)
      const want = { [symbol]: 'Bob' }
      for (const p of [tWs, tSse, fresh]) await tickerFresh(p, market.session, back, want)
      assert.ok(Date.now() - back < FRESH_WITHIN_MS + 2000)
      for (const p of [tWs, tSse, fresh]) {
        const trade = await p.evaluate(
          (s) => (window as unknown as Win).__ticker.rows.get(s)!.trade,
          symbol,
        )
        assert.deepEqual(trade, { id: 1, by: 'Bob', side: 'buy' })
      }
      await tSse.waitForFunction(
        (s) =>
          document.querySelector(`tr[data-symbol="${s}"] td.trade`)?.getAttribute('data-action') ===
          'confirmed',
        symbol,
      )
      // The banner says so, then steps aside (the SSE page keeps its note).
      await tWs.waitForFunction(() => document.querySelector<HTMLElement>('.ui-banner')!.hidden)
      // The SSE page says "Back online." first, then settles on its note.
      await tSse
        .waitForFunction(
          () => /Live over SSE/.test(document.querySelector('.ui-banner-text')?.textContent ?? ''),
          null,
          { timeout: 5000 },
        )
        .catch(() => {})
      assert.match((await tSse.textContent('.ui-banner-text')) ?? '', /Live over SSE/)

      // The game: both open pages rejoined the new run and agree with a newcomer.
      const newcomer = await game('Cyd', false)
      const runNow = await newcomer.evaluate(() => (window as unknown as Win).__game.view().s)
      await gamesAgree([newcomer, gWs, gSse], runNow, FRESH_WITHIN_MS - (Date.now() - back))
      assert.notEqual(runNow, '')
      const players = (
        await newcomer.evaluate(() => (window as unknown as Win).__game.view().players)
      ).map((p) => p[0])
      assert.deepEqual(players, ['Ada', 'Bob', 'Cyd'])

      for (const p of [tWs, tSse, fresh, gWs, gSse, newcomer]) await p.close()
    })
  })
}
