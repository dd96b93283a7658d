// The whiteboard across restarts of `npm start` (the durable broker, its data in a temp dir):
// a page that stays open keeps its drawing and resumes the same stream, and a page opened after
// the restart gets the same drawing from history. Once after SIGTERM, once after kill -9.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { CHROMIUM, CHROMIUM_ARGS, chromiumSkipReason } from '../support/chromium.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const missing = chromiumSkipReason()
const SCREENSHOT = '/tmp/whiteboard-after-restart.png'

/** A port nothing listens on now, so every restart can take the same one. */
async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const { port } = probe.address() as { port: number }
  probe.close()
  await once(probe, 'close')
  return port
}

/** One `npm start` process and everything it printed. */
interface Server {
  readonly child: ChildProcess
  readonly output: () => string
}

/** Runs `npm start` on `port` with its data in `dataDir`, and waits for its listening line. */
async function startServer(port: number, dataDir: string, timeoutMs = 60_000): Promise<Server> {
  const child = spawn(process.execPath, ['scripts/start.mjs'], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      SWITCHBOARD_DATA_DIR: dataDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stderr!.on('data', (c: Buffer) => {
    out += c.toString()
  })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`no listening line within ${timeoutMs} ms:\n${out}`))
    }, timeoutMs)
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString()
      if (out.includes(`listening on http://localhost:${port}`)) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`exited with ${code} before listening:\n${out}`))
    })
  })
  return { child, output: () => out }
}

/** Stops the server with `signal` and resolves with how it exited. */
async function stopServer(
  server: Server,
  signal: 'SIGTERM' | 'SIGKILL',
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const { child } = server
  if (child.exitCode !== null || child.signalCode !== null) {
    return { code: child.exitCode, signal: child.signalCode }
  }
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  child.kill(signal)
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
  const [code, sig] = await exited
  clearTimeout(timer)
  return { code, signal: sig }
}

/** What the page holds under `window.__board`. */
interface Board {
  strokes: { offset: number; user: string; color: string; points: number[][] }[]
  sending: number
  subscribed: { wasRecovering: boolean; recovered: boolean } | null
}
type Win = { __board: Board }

/** The strokes a page holds, as offsets, authors, colours and point counts. */
const strokesOf = (page: Page) =>
  page.evaluate(() =>
    (window as unknown as Win).__board.strokes.map((s) => ({
      offset: s.offset,
      user: s.user,
      color: s.color,
      points: s.points.length,
    })),
  )

/** The canvas after the next frame: its size, how many pixels are painted, and a hash of them. */
const pixelsOf = (page: Page) =>
  page.evaluate(
    () =>
      new Promise<{ width: number; height: number; painted: number; hash: number }>((resolve) => {
        requestAnimationFrame(() =>
          requestAnimationFrame(() => {
            const c = document.getElementById('canvas') as HTMLCanvasElement
            const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data
            let painted = 0
            let hash = 0
            for (let i = 0; i < d.length; i++) {
              hash = (Math.imul(hash, 31) + d[i]!) | 0
              if (i % 4 === 3 && d[i] !== 0) painted++
            }
            resolve({ width: c.width, height: c.height, painted, hash })
          }),
        )
      }),
  )

describe('the whiteboard across server restarts (npm start on the durable broker)', {
  skip: missing,
  timeout: 90_000,
}, () => {
  let dataDir = ''
  let port = 0
  let server: Server | undefined
  let browser: Browser | undefined
  let context: BrowserContext
  const base = () => `http://127.0.0.1:${port}`

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'swb-whiteboard-'))
    port = await freePort()
    server = await startServer(port, join(dataDir, 'data'))
    assert.match(server.output(), /channels on the durable broker, data in \S*swb-whiteboard-/)
    browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] })
    context = await browser.newContext({ viewport: { width: 1000, height: 700 } })
  })

  after(async () => {
    await browser?.close()
    if (server !== undefined) await stopServer(server, 'SIGKILL')
    if (dataDir !== '') rmSync(dataDir, { recursive: true, force: true })
  })

  /** Opens the whiteboard on `board` as `name` and waits until its first subscribe is done. */
  async function open(board: string, name: string): Promise<Page> {
    const page = await context.newPage()
    await page.goto(`${base()}/whiteboard?board=${board}&name=${name}`)
    await page.click('#joinForm button')
    await page.waitForFunction(() => (window as unknown as Win).__board?.subscribed != null)
    return page
  }

  /** Draws a line with the mouse in `color`, from and to points in 0..1 of the canvas. */
  async function draw(
    page: Page,
    color: string,
    from: [number, number],
    to: [number, number],
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

  /** Restarts the server on the same port and data dir, and waits until `page` resubscribed. */
  async function restart(page: Page, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    await page.evaluate(() => {
      ;(window as unknown as Win).__board.subscribed = null
    })
    const exited = await stopServer(server!, signal)
    if (signal === 'SIGTERM') assert.deepEqual(exited, { code: 0, signal: null })
    else assert.deepEqual(exited, { code: null, signal: 'SIGKILL' })
    server = await startServer(port, join(dataDir, 'data'))
    await page.waitForFunction(() => (window as unknown as Win).__board.subscribed !== null, null, {
      timeout: 30_000,
    })
  }

  /** The drawing on `page` after every chunk it sent came back: strokes and pixels. */
  async function settled(page: Page) {
    await page.waitForFunction(() => (window as unknown as Win).__board.sending === 0)
    return { strokes: await strokesOf(page), pixels: await pixelsOf(page) }
  }

  /** The open page resumed the same stream and still shows `drawing`; a newcomer shows it too. */
  async function assertSurvived(
    page: Page,
    board: string,
    drawing: Awaited<ReturnType<typeof settled>>,
  ): Promise<Page> {
    // Same epoch, nothing missed: the SDK recovered instead of reloading the board.
    assert.deepEqual(await page.evaluate(() => (window as unknown as Win).__board.subscribed), {
      wasRecovering: true,
      recovered: true,
    })
    assert.deepEqual(await settled(page), drawing, 'the open page keeps its drawing')

    const newcomer = await open(board, 'Cyd')
    await newcomer.waitForFunction(
      (n) => (window as unknown as Win).__board.strokes.length === n,
      drawing.strokes.length,
    )
    assert.deepEqual(await settled(newcomer), drawing, 'a newcomer sees the same drawing')
    return newcomer
  }

  test('after SIGTERM, the open page keeps its strokes and resumes the same stream, and a newcomer gets them from history', async () => {
    const ada = await open('restart-term', 'Ada')
    await draw(ada, '#1f6feb', [0.1, 0.2], [0.45, 0.8])
    await draw(ada, '#b3261e', [0.2, 0.8], [0.8, 0.15])
    await draw(ada, '#1a7f37', [0.55, 0.5], [0.9, 0.9])
    const drawing = await settled(ada)
    assert.ok(drawing.strokes.length >= 3, `${drawing.strokes.length} stroke publications`)
    assert.deepEqual(new Set(drawing.strokes.map((s) => s.color)).size, 3)
    assert.ok(drawing.pixels.painted > 1000, `${drawing.pixels.painted} pixels painted`)

    await restart(ada, 'SIGTERM')
    const cyd = await assertSurvived(ada, 'restart-term', drawing)
    await Promise.all([ada.close(), cyd.close()])
  })

  test('after kill -9 right after the last stroke was acknowledged, the open page and a newcomer show every stroke', async () => {
    const ada = await open('restart-kill', 'Ada')
    await draw(ada, '#8250df', [0.1, 0.5], [0.9, 0.5])
    await draw(ada, '#bf8700', [0.5, 0.1], [0.5, 0.9])
    await draw(ada, '#1d232b', [0.15, 0.15], [0.85, 0.85])
    // Acknowledged means committed: kill the server the moment the last chunk came back.
    const drawing = await settled(ada)
    assert.ok(drawing.strokes.length >= 3, `${drawing.strokes.length} stroke publications`)

    await restart(ada, 'SIGKILL')
    const cyd = await assertSurvived(ada, 'restart-kill', drawing)
    await cyd.locator('#stage').screenshot({ path: SCREENSHOT })

    // The board drawn before the first restart came through the second one too.
    const late = await open('restart-term', 'Dee')
    await late.waitForFunction(() => (window as unknown as Win).__board.strokes.length >= 3)
    await Promise.all([ada.close(), cyd.close(), late.close()])
  })
})
