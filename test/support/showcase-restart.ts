// The restart suite of one showcase page, run by test/e2e/<page>-restart-browser.test.ts: the
// showcase in its own process on the durable broker (data in a temp dir) is stopped with SIGTERM,
// started again, then killed with kill -9 and started again. Two pages stay open through each
// outage, one on WebSocket and one on SSE, and the page's spec acts while the server is down (a
// chat message, a stroke, a vote). Within 10 s of the server's return both open pages show the
// truth, each of those actions once; then they show exactly what a page opened afterwards shows.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { chromiumSkipReason } from './chromium.ts'
import { launchChromium, ShowcaseProcess } from './showcase.ts'
import { signIn } from './showcase-pages.ts'

/** How long after the server is back every open page must show the truth. */
export const SETTLE_MS = 10_000

/** What the restart suite needs of one page. `round` is 0 for SIGTERM and 1 for kill -9, so
 * each round can use its own room, board or poll. */
export interface RestartSpec {
  /** The page's name in test titles. */
  readonly name: string
  /** Opens the page in a context (Ada's: WebSocket; Bob's: `?transport=sse`). */
  open(context: BrowserContext, base: string, sse: boolean, round: number): Promise<Page>
  /** Acts before the stop, and waits until the other page shows it. */
  before(a: Page, b: Page, round: number): Promise<void>
  /** Acts while the server is down, and checks the action shows as pending. */
  offline(a: Page, b: Page, round: number): Promise<void>
  /** Resolves once both pages show the truth (`back`: when the server was listening again). */
  settled(a: Page, b: Page, back: number, timeout: number): Promise<void>
  /** Checks both open pages against a fresh one (and may act once more first). */
  check(a: Page, b: Page, fresh: Page, round: number): Promise<void>
  /** What a page holds, printed when it does not settle. */
  state(page: Page): Promise<unknown>
}

/** Declares the suite for `spec`: SIGTERM, then kill -9. */
export function restartSuite(spec: RestartSpec): void {
  describe(`${spec.name} across restarts of the showcase`, {
    skip: chromiumSkipReason(),
  }, () => {
    let server: ShowcaseProcess
    let browser: Browser
    /** Ada (signed in as ada), Bob (as grace), and a newcomer (as linus). */
    const contexts: BrowserContext[] = []

    before(async () => {
      server = await ShowcaseProcess.start()
      browser = await launchChromium()
      for (const [name, password] of [
        ['ada', 'lovelace'],
        ['grace', 'hopper'],
        ['linus', 'torvalds'],
      ] as const) {
        const context = await browser.newContext({ viewport: { width: 1000, height: 700 } })
        await signIn(context, server.url, name, password)
        contexts.push(context)
      }
    })

    after(async () => {
      await browser?.close()
      await server?.dispose()
    })

    for (const [round, signal] of (['SIGTERM', 'SIGKILL'] as const).entries()) {
      test(`after ${signal === 'SIGKILL' ? 'kill -9' : signal}, both open pages show the truth within 10 s, what they did offline once, as a fresh page shows it`, async () => {
        const [ada, bob, newcomer] = contexts as [BrowserContext, BrowserContext, BrowserContext]
        const [a, b] = await Promise.all([
          spec.open(ada, server.url, false, round),
          spec.open(bob, server.url, true, round),
        ])
        await spec.before(a, b, round)
        await server.stopWith(signal)
        for (const page of [a, b]) {
          await page.waitForFunction(
            () =>
              Object.values(
                window as unknown as Record<string, { client?: { state: string } }>,
              ).find((h) => h?.client)?.client?.state !== 'connected',
          )
        }
        await spec.offline(a, b, round)
        await server.restart()
        const back = Date.now()
        try {
          await spec.settled(a, b, back, SETTLE_MS)
        } catch (err) {
          for (const [who, page] of [
            ['WebSocket page', a],
            ['SSE page', b],
          ] as const) {
            console.log(`${spec.name} ${signal} ${who}: ${JSON.stringify(await spec.state(page))}`)
          }
          throw err
        }
        const settled = Date.now() - back
        console.log(
          `${spec.name} after ${signal}: both open pages true ${settled} ms after the server was back`,
        )
        assert.ok(settled < SETTLE_MS, `${settled} ms`)
        const fresh = await spec.open(newcomer, server.url, false, round)
        await spec.check(a, b, fresh, round)
        await Promise.all([a.close(), b.close(), fresh.close()])
      })
    }
  })
}
