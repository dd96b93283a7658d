/**
 * Chromium's own EventSource against a Switchboard server: /usr/bin/chromium driven by
 * playwright-core. Skipped with a reason when chromium is missing locally; a failure when
 * CI=true.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { CHROMIUM, CHROMIUM_ARGS, chromiumSkipReason } from '../support/chromium.ts'
import { EXPECTED_MESSAGES, RETRY_MS, SECOND_ID, startFeedServer } from './feed-scenario.ts'

const PAGE = `<!doctype html><meta charset="utf-8"><title>sse</title><script>
window.runFeed = () => new Promise((resolve) => {
  const got = []
  const es = new EventSource('/feed')
  const record = (e) => got.push({ type: e.type, data: e.data, lastEventId: e.lastEventId })
  es.addEventListener('message', record)
  es.addEventListener('named', record)
  es.addEventListener('error', () => {
    if (es.readyState === EventSource.CLOSED) resolve({ got, state: es.readyState })
  })
})
</script>`

test("Chromium's EventSource receives events, reconnects after retry with Last-Event-ID, and stops on 204", async (t) => {
  const skip = chromiumSkipReason()
  if (skip) {
    t.skip(skip)
    return
  }
  const { chromium } = await import('playwright-core')
  const server = await startFeedServer(PAGE)
  const profile = mkdtempSync(join(tmpdir(), 'switchboard-sse-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS],
  })
  try {
    const page = context.pages()[0] ?? (await context.newPage())
    await page.goto(`${server.url}/`)
    const result = (await Promise.race([
      page.evaluate('window.runFeed()'),
      sleep(10_000).then(() => assert.fail('Chromium did not stop after 204')),
    ])) as { got: unknown[]; state: number }
    assert.deepEqual(result.got, EXPECTED_MESSAGES)
    assert.equal(result.state, 2)
    assert.deepEqual(server.resumedFrom, [undefined, SECOND_ID, '3'])
    const gap = server.arrivals[1]! - server.arrivals[0]!
    assert.ok(gap >= RETRY_MS * 0.75, `reconnected after ${gap} ms, retry was ${RETRY_MS}`)
    await sleep(RETRY_MS * 3)
    assert.equal(server.resumedFrom.length, 3, 'no reconnect after 204')
  } finally {
    await context.close()
    await server.close()
    rmSync(profile, { recursive: true, force: true })
  }
})
