// The showcase chat in headless Chromium, two browser contexts (Ada over WebSocket, Bob over the
// SSE fallback): messages both ways with their delay measured, rooms and unread counts, typing
// indicators, long words, the join screen and recovery after a dropped connection.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { createShowcase } from '../../examples/showcase/app.ts'
import { chromiumSkipReason } from '../support/chromium.ts'
import { ensureClientBundle, launchChromium, median } from '../support/showcase.ts'
import {
  chatLines,
  chatSettled,
  delayOf,
  openDemo,
  say,
  transportOf,
} from '../support/showcase-pages.ts'

const missing = chromiumSkipReason()
type Chat = {
  client: { state: string }
  active: string
  unread: (room: string) => number
  members: () => string[]
  switchTo: (room: string) => void
}
/** Runs `fn` on the page's `window.__chat`. */
const hook = <T>(page: Page, fn: (c: Chat) => T) =>
  page.evaluate(
    (body) =>
      new Function('c', `return (${body})(c)`)((window as unknown as { __chat: Chat }).__chat),
    fn.toString(),
  ) as Promise<T>

describe('showcase chat in Chromium', { skip: missing }, () => {
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

  const enter = (context: BrowserContext, name: string, query = '') =>
    openDemo(context, base, `/chat${query}`, '__chat', name)

  test('messages go both ways between WebSocket and SSE, with members on both pages, the median delay under 100 ms', async () => {
    const ada = await enter(desk, 'Ada', '?room=delay')
    const bob = await enter(phone, 'Bob', '?room=delay&transport=sse')
    assert.equal(await transportOf(ada, '__chat'), 'websocket')
    assert.equal(await transportOf(bob, '__chat'), 'sse')
    await ada.waitForFunction(() => document.getElementById('count')!.textContent === '2')
    // Bob's page hears of the members over its own stream, maybe after Ada's page does.
    await bob.waitForFunction(() => document.getElementById('count')!.textContent === '2')
    assert.deepEqual(await hook(bob, (c) => c.members()), ['Ada', 'Bob'])

    const delays: Record<string, number[]> = { 'websocket → sse': [], 'sse → websocket': [] }
    for (let i = 0; i < 12; i++) {
      for (const [from, to, key] of [
        [ada, bob, 'websocket → sse'],
        [bob, ada, 'sse → websocket'],
      ] as const) {
        const text = `${key} #${i}`
        const act = `document.getElementById('text').value = ${JSON.stringify(text)}; document.getElementById('send').requestSubmit()`
        const shown = `document.getElementById('log').textContent.includes(${JSON.stringify(text)})`
        delays[key]!.push(await delayOf(from, to, '#log', act, shown))
      }
    }
    const figures = Object.fromEntries(
      Object.entries(delays).map(([k, v]) => [k, Math.round(median(v) * 10) / 10]),
    )
    console.log(`chat delay, median ms: ${JSON.stringify(figures)}`)
    for (const [k, v] of Object.entries(figures)) assert.ok(v < 100, `${k}: ${v} ms`)
    // Every message once on both pages, in the same order, once each sender has its answers.
    await Promise.all([chatSettled(ada), chatSettled(bob)])
    assert.deepEqual(await chatLines(ada), await chatLines(bob))
    assert.equal((await chatLines(bob)).length, 24)
    await Promise.all([ada.close(), bob.close()])
  })

  test('rooms: each shows its own messages, unread counts grow for the rooms not open and clear when opened, and a room opened by name works over SSE', async () => {
    const ada = await enter(desk, 'Ada', '?room=lobby')
    const bob = await enter(phone, 'Bob', '?room=lobby&transport=sse')
    await say(ada, 'in the lobby')
    await bob.waitForFunction(() =>
      document.getElementById('log')!.textContent!.includes('in the lobby'),
    )

    // Ada writes in #help; Bob, still in the lobby, sees an unread count there.
    await ada.click('#roomList button[data-room="help"]')
    assert.equal(await hook(ada, (c) => c.active), 'help')
    await say(ada, 'first in help')
    await say(ada, 'second in help')
    await bob.waitForFunction(
      () =>
        document.querySelector('#roomList button[data-room="help"] .unread')?.textContent === '2',
    )
    assert.deepEqual(await chatLines(bob), ['Ada: in the lobby'])
    await bob.click('#roomList button[data-room="help"]')
    assert.deepEqual(await chatLines(bob), ['Ada: first in help', 'Ada: second in help'])
    assert.equal(await hook(bob, (c) => c.unread('help')), 0)
    assert.equal(await bob.locator('#roomList .unread').count(), 0)

    // A room opened by name, over SSE, after the page is connected.
    await bob.fill('#newRoomName', 'side-room')
    await bob.press('#newRoomName', 'Enter')
    await bob.waitForFunction(() => document.getElementById('count')!.textContent === '1')
    await say(bob, 'anyone in the side room?')
    await bob.waitForFunction(() =>
      document.querySelector('#log .msg[data-action="confirmed"], #log .msg:not([data-action])'),
    )
    await ada.fill('#newRoomName', 'side-room')
    await ada.press('#newRoomName', 'Enter')
    await ada.waitForFunction(() =>
      document.getElementById('log')!.textContent!.includes('side room?'),
    )
    assert.deepEqual(await chatLines(ada), ['Bob: anyone in the side room?'])
    await Promise.all([ada.close(), bob.close()])
  })

  test('typing: Bob sees that Ada is typing, and it goes away when she sends', async () => {
    const ada = await enter(desk, 'Ada', '?room=typing')
    const bob = await enter(phone, 'Bob', '?room=typing&transport=sse')
    await ada.type('#text', 'hel')
    await bob.waitForFunction(
      () => document.getElementById('typing')!.textContent === 'Ada is typing…',
    )
    assert.equal(await ada.textContent('#typing'), '', 'nobody else is typing for Ada')
    await ada.press('#text', 'Enter')
    await bob.waitForFunction(() => document.getElementById('typing')!.textContent === '')
    await Promise.all([ada.close(), bob.close()])
  })

  test('a long word wraps: the member list, the send button and the open-a-room input stay on screen at 1000, 390 and 360 px, also for a later joiner', async () => {
    const ada = await enter(desk, 'Ada', '?room=wrap')
    await say(ada, `${'W'.repeat(400)} end`)
    const bob = await enter(phone, 'Bob', '?room=wrap')
    await bob.waitForFunction(() => document.getElementById('log')!.textContent!.includes(' end'))
    const onScreen = async (page: Page) => {
      const width = page.viewportSize()!.width
      const scroll = await page.evaluate(() => document.documentElement.scrollWidth)
      assert.ok(scroll <= width, `page scrolls sideways at ${width} px: ${scroll} > ${width}`)
      // The room bar itself must not hide the input past its edge (only the room list scrolls).
      const bar = (await page.locator('#rooms').boundingBox())!
      for (const sel of ['#send button', '#people', '#newRoomName']) {
        const box = (await page.locator(sel).boundingBox())!
        const right = Math.min(width, bar.x + bar.width)
        const inside = sel === '#newRoomName' ? right : width
        assert.ok(
          box.x >= 0 && box.x + box.width <= inside + 0.5,
          `${sel} at ${box.x}+${box.width} of ${inside} (${width} px)`,
        )
      }
    }
    await onScreen(ada)
    await onScreen(bob)
    await bob.setViewportSize({ width: 360, height: 700 })
    await onScreen(bob)
    await Promise.all([ada.close(), bob.close()])
  })

  test('the join screen hides the room; an invalid name gets a clear message and keeps what was typed', async () => {
    const page = await desk.newPage()
    await page.goto(`${base}/chat`)
    assert.equal(await page.isVisible('#chat'), false, 'the room is hidden behind the join screen')
    assert.equal(await page.isVisible('#log'), false)
    await page.fill('#name', 'Ada <script>')
    await page.click('#joinForm button[type="submit"]')
    assert.equal(
      await page.textContent('#joinError'),
      'A name is 1 to 24 letters, digits, spaces or _ . -',
    )
    assert.equal(await page.inputValue('#name'), 'Ada <script>')
    assert.equal(await page.isVisible('#chat'), false)
    await page.fill('#name', 'Ada')
    await page.click('#joinForm button[type="submit"]')
    await page.waitForFunction(
      () => (window as unknown as { __chat: Chat }).__chat.client?.state === 'connected',
    )
    assert.equal(await page.isVisible('#join'), false)
    assert.equal(await page.textContent('#joinError'), '')
    await page.close()
  })

  test('a page the server dropped recovers the message it missed, and shows each message once', async () => {
    const ada = await enter(desk, 'Ada', '?room=drop')
    const bob = await enter(phone, 'Bob', '?room=drop&transport=sse')
    await say(ada, 'hello from Ada')
    await bob.waitForFunction(() =>
      document.getElementById('log')!.textContent!.includes('hello from Ada'),
    )
    await app.hub.disconnect('Bob')
    await app.hub.publish('chat:drop', { text: 'sent while Bob was away' })
    await bob.waitForFunction(
      () => document.getElementById('log')!.textContent!.includes('sent while Bob was away'),
      null,
      { timeout: 10_000 },
    )
    assert.deepEqual(await chatLines(bob), [
      'Ada: hello from Ada',
      'server: sent while Bob was away',
    ])
    await Promise.all([ada.close(), bob.close()])
  })
})
