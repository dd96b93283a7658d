// Driving the showcase pages in Chromium: open a demo as a user, read what it shows through the
// test hooks each page exposes (`window.__chat`, `__board`, `__poll`, `__dash`), and act on it.
import type { BrowserContext, Page } from 'playwright-core'

/** A page's test hook: whatever the page put on `window` under that name. */
// biome-ignore lint/suspicious/noExplicitAny: the hooks are plain page objects
export type Hooks = Record<string, any>
type Win = Record<string, Hooks>

/** Opens `path` on `base` in `context`, joins as `name` when the page has a join form, and waits
 * until the page's client is connected. */
export async function openDemo(
  context: BrowserContext,
  base: string,
  path: string,
  hook: string,
  name?: string,
): Promise<Page> {
  const page = await context.newPage()
  await page.goto(`${base}${path}`)
  if (name !== undefined) {
    await page.fill('#name', name)
    await page.click('#joinForm button[type="submit"]')
  }
  await waitConnected(page, hook)
  return page
}

/** Waits until the page's client (`window[hook].client`) is connected. */
export async function waitConnected(page: Page, hook: string, timeout = 10_000): Promise<void> {
  await page.waitForFunction(
    (h) => (window as unknown as Win)[h]?.client?.state === 'connected',
    hook,
    { timeout },
  )
}

/** The transport the page's client is connected over. */
export function transportOf(page: Page, hook: string): Promise<string | null> {
  return page.evaluate((h) => (window as unknown as Win)[h]!.client.transport ?? null, hook)
}

/** Evaluates `fn` on the page's hook object. */
export function read<T>(page: Page, hook: string, fn: string): Promise<T> {
  return page.evaluate(
    ([h, body]) => new Function('hook', `return (${body})(hook)`)((window as unknown as Win)[h!]),
    [hook, fn] as const,
  ) as Promise<T>
}

/** The chat messages the page shows in its active room, as `user: text`. */
export function chatLines(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll('#log .msg')].map(
      (li) =>
        `${li.querySelector('.who')!.textContent}: ${li.querySelector('.text')!.textContent}${
          /queued|pending|failed/.test((li as HTMLElement).dataset.action ?? '') ? ' (pending)' : ''
        }`,
    ),
  )
}

/**
 * Waits until the page shows none of its own messages as queued, pending or failed: the sender's
 * page marks a message sent until the server's answer comes, which may be after another page
 * already shows it.
 */
export async function chatSettled(page: Page): Promise<void> {
  // Source text, not a function: tsx would compile its helpers into a function's text.
  await page.waitForFunction(`![...document.querySelectorAll('#log .msg')].some((li) =>
    /queued|pending|failed/.test(li.dataset.action ?? ''))`)
}

/** Sends a chat message by typing it and pressing Enter. */
export async function say(page: Page, text: string): Promise<void> {
  await page.fill('#text', text)
  await page.press('#text', 'Enter')
}

/**
 * Measures how long `display` takes to become true on `receiver` after `act` ran on `sender`:
 * the receiver watches with a MutationObserver on `root` (a selector) and stamps the time the
 * condition first holds; the sender stamps the time right before its action. Both pages run in
 * one browser on one machine, so their `performance.timeOrigin + now()` share a clock.
 */
export async function delayOf(
  sender: Page,
  receiver: Page,
  root: string,
  act: string,
  display: string,
): Promise<number> {
  // Page scripts as source text: functions compiled by tsx would carry its helpers along.
  await receiver.evaluate(`window.__seen = new Promise((resolve) => {
    const check = () => {
      if (!(${display})) return false
      resolve(performance.timeOrigin + performance.now())
      return true
    }
    if (check()) return
    const obs = new MutationObserver(() => { if (check()) obs.disconnect() })
    obs.observe(document.querySelector(${JSON.stringify(root)}), {
      subtree: true, childList: true, characterData: true, attributes: true,
    })
  }); 0`) // not the promise itself: evaluate would wait for it
  const start = (await sender.evaluate(`(() => {
    const t = performance.timeOrigin + performance.now()
    ${act}
    return t
  })()`)) as number
  const seen = (await receiver.evaluate('window.__seen')) as number
  return seen - start
}

/** Signs `context` in as a demo user (the session cookie lands in the context's cookie jar). */
export async function signIn(
  context: BrowserContext,
  base: string,
  name: string,
  password: string,
): Promise<void> {
  const res = await context.request.post(`${base}/login`, { data: { name, password } })
  if (res.status() !== 200) throw new Error(`login as ${name}: ${res.status()} ${await res.text()}`)
}

/** Opens the whiteboard on `board` in a signed-in `context` and waits until it is subscribed. */
export async function openBoard(
  context: BrowserContext,
  base: string,
  board: string,
  query = '',
): Promise<Page> {
  const page = await context.newPage()
  await page.goto(`${base}/whiteboard?board=${board}${query}`)
  await page.waitForFunction(() => (window as unknown as Win).__board?.subscribed === true)
  return page
}

/** Draws a line with the mouse in `color`, from and to points in 0..1 of the canvas. */
export async function draw(
  page: Page,
  color: string,
  from: readonly [number, number],
  to: readonly [number, number],
): Promise<void> {
  await page.click(`.swatch[title="${color}"]`)
  const box = (await page.locator('#canvas').boundingBox())!
  const at = (t: number) =>
    [
      box.x + box.width * (from[0] + (to[0] - from[0]) * t),
      box.y + box.height * (from[1] + (to[1] - from[1]) * t),
    ] as const
  await page.mouse.move(...at(0))
  await page.mouse.down()
  for (let i = 1; i <= 12; i++) await page.mouse.move(...at(i / 12))
  await page.mouse.up()
}

/** The strokes a whiteboard page holds: author, colour and point count of each. */
export function strokesOf(page: Page): Promise<{ user: string; color: string; points: number }[]> {
  return page.evaluate(() =>
    (
      (window as unknown as Win).__board!.strokes as {
        user: string
        color: string
        points: unknown[]
      }[]
    ).map((s) => ({ user: s.user, color: s.color, points: s.points.length })),
  )
}

/** The whiteboard canvas after the next frame: its size, painted pixels and a hash of them. */
export function pixelsOf(
  page: Page,
): Promise<{ width: number; height: number; painted: number; hash: number }> {
  // Source text: a function compiled by tsx would carry its helpers into the page.
  return page.evaluate(`new Promise((resolve) => {
    requestAnimationFrame(() => requestAnimationFrame(() => {
      const c = document.getElementById('canvas')
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data
      let painted = 0
      let hash = 0
      for (let i = 0; i < d.length; i++) {
        hash = (Math.imul(hash, 31) + d[i]) | 0
        if (i % 4 === 3 && d[i] !== 0) painted++
      }
      resolve({ width: c.width, height: c.height, painted, hash })
    }))
  })`)
}
