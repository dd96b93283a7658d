// The showcase chat in headless Chromium, loading the client bundle the server serves.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium, type Page } from 'playwright-core'
import { createShowcase } from '../../examples/showcase/app.ts'
import { CHROMIUM, CHROMIUM_ARGS, chromiumSkipReason } from '../support/chromium.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const missing = chromiumSkipReason()

let browser: Browser
const app = createShowcase({ logger: false })
let base = ''

before(async () => {
  if (missing) return
  const built = spawnSync(process.execPath, [join(root, 'scripts/build-client.mjs')], {
    encoding: 'utf8',
  })
  assert.equal(built.status, 0, built.stderr)
  base = (await app.listen({ port: 0 })).url
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS],
  })
})

after(async () => {
  await browser?.close()
  await app.close({ graceful: 200 })
})

async function enter(name: string): Promise<Page> {
  const page = await browser.newPage()
  await page.goto(`${base}/chat`)
  await page.fill('#name', name)
  await page.click('#joinForm button')
  await page.waitForFunction(() =>
    document.getElementById('status')!.textContent!.startsWith('connected'),
  )
  return page
}

test('two browsers chat through the served client bundle, with presence, and one recovers what it missed while the server dropped it', {
  skip: missing,
}, async () => {
  const ada = await enter('Ada')
  const bob = await enter('Bob')
  await bob.waitForFunction(() => document.getElementById('count')!.textContent === '2')
  assert.match((await ada.textContent('#members')) ?? '', /Ada.*Bob|Bob.*Ada/)

  await ada.fill('#text', 'hello from Ada')
  await ada.press('#text', 'Enter')
  await bob.waitForFunction(() =>
    document.getElementById('log')!.textContent!.includes('hello from Ada'),
  )

  // The server drops Bob's connection; a message is published while Bob is away.
  await app.hub.disconnect('Bob')
  await app.hub.publish('chat:lobby', { text: 'sent while Bob was away' })
  await bob.waitForFunction(
    () => document.getElementById('log')!.textContent!.includes('sent while Bob was away'),
    null,
    {
      timeout: 10_000,
    },
  )
  const resumed = await bob.evaluate(
    () => (window as unknown as { lastSubscribed: unknown }).lastSubscribed,
  )
  assert.deepEqual(resumed, { wasRecovering: true, recovered: true })
  // Nothing shown twice.
  const log = (await bob.textContent('#log')) ?? ''
  assert.equal(log.split('hello from Ada').length - 1, 1)
  assert.equal(log.split('sent while Bob was away').length - 1, 1)

  // A message that breaks the schema is refused with a coded error and published to no one.
  await ada.fill('#text', ' ')
  await ada.press('#text', 'Enter')
  await ada.waitForFunction(() => document.getElementById('log')!.textContent!.includes('not sent'))
})
