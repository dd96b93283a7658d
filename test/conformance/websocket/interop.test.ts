/**
 * Interop: real clients against our testee. The `ws` client, undici's WebSocket and headless
 * Chromium each connect through a sniffing proxy, exchange text, binary and compressible
 * messages, and close with a code; the sniffer proves on the wire that compression was used.
 * Chromium is /usr/bin/chromium driven by playwright-core: skipped with a reason when missing
 * locally, a failure when CI=true.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { WebSocket as UndiciWebSocket } from 'undici'
import WsClient from 'ws'
import { CHROMIUM, CHROMIUM_ARGS, chromiumSkipReason } from '../../support/chromium.ts'
import { type Sniffer, startSniffer } from './sniffer.ts'
import { startTarget, type Target, TESTEE, testeeExists } from './targets.ts'

const BIG_TEXT = 'switchboard interop, compressible text. '.repeat(200)
const BINARY = Uint8Array.from([0, 1, 2, 127, 128, 254, 255])

/** What a client saw; the same shape for all three clients so the assertions are shared. */
interface Exchange {
  extensions: string
  echoes: Array<{ text?: string; bytes?: number[] }>
  close: { code: number; reason: string }
}

function assertExchange(
  x: Exchange,
  code: number,
  sniffer: Sniffer,
  clientCompresses: boolean,
): void {
  assert.match(x.extensions, /permessage-deflate/, 'permessage-deflate was negotiated')
  assert.deepEqual(x.echoes, [
    { text: 'hello, switchboard' },
    { bytes: [...BINARY] },
    { text: BIG_TEXT },
  ])
  assert.equal(x.close.code, code, 'the close code came back')
  const serverData = sniffer.frames('server').filter((f) => f.opcode === 1 || f.opcode === 2)
  assert.ok(
    serverData.some((f) => (f.rsv & 4) !== 0),
    'the server sent at least one compressed message',
  )
  assert.ok(
    serverData.every((f) => !f.masked),
    'server frames are unmasked',
  )
  const clientData = sniffer.frames('client').filter((f) => f.opcode === 1 || f.opcode === 2)
  assert.ok(
    clientData.every((f) => f.masked),
    'client frames are masked',
  )
  if (clientCompresses)
    assert.ok(
      clientData.some((f) => (f.rsv & 4) !== 0),
      'the client sent a compressed message',
    )
  const serverClose = sniffer.frames('server').find((f) => f.opcode === 8)
  assert.ok(serverClose, 'the server answered the close handshake')
}

describe('interop with real WebSocket clients', {
  skip: !testeeExists() && `${TESTEE} is missing`,
}, () => {
  let target: Target
  let sniffer: Sniffer | null = null

  before(async () => {
    target = await startTarget('switchboard')
  })
  after(async () => {
    await sniffer?.close()
    await target?.stop()
  })

  async function sniff(): Promise<string> {
    await sniffer?.close()
    sniffer = await startSniffer(target.port)
    return `ws://127.0.0.1:${sniffer.port}/`
  }

  test('the ws client exchanges text, binary and compressed messages and closes with 4001', async () => {
    const url = await sniff()
    const ws = new WsClient(url, { perMessageDeflate: { threshold: 0 } })
    const echoes: Exchange['echoes'] = []
    const done = new Promise<Exchange['close']>((resolve, reject) => {
      ws.on('message', (data: Buffer, isBinary) => {
        echoes.push(isBinary ? { bytes: [...data] } : { text: data.toString() })
        if (echoes.length === 3) ws.close(4001, 'bye from ws')
      })
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))
      ws.on('error', reject)
    })
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
    ws.send('hello, switchboard')
    ws.send(BINARY)
    ws.send(BIG_TEXT)
    const close = await withDeadline(done, 5000, 'ws client exchange')
    assertExchange({ extensions: ws.extensions, echoes, close }, 4001, sniffer!, true)
  })

  test("undici's WebSocket exchanges text, binary and compressed messages and closes with 4002", async () => {
    const url = await sniff()
    const ws = new UndiciWebSocket(url)
    ws.binaryType = 'arraybuffer'
    const echoes: Exchange['echoes'] = []
    const done = new Promise<Exchange['close']>((resolve, reject) => {
      ws.addEventListener('message', (e) => {
        const d = e.data as string | ArrayBuffer
        echoes.push(typeof d === 'string' ? { text: d } : { bytes: [...new Uint8Array(d)] })
        if (echoes.length === 3) ws.close(4002, 'bye from undici')
      })
      ws.addEventListener('close', (e) => resolve({ code: e.code, reason: e.reason }))
      ws.addEventListener('error', () => reject(new Error('undici WebSocket error')))
    })
    await new Promise((resolve, reject) => {
      ws.addEventListener('open', resolve)
      ws.addEventListener('error', reject)
    })
    ws.send('hello, switchboard')
    ws.send(BINARY)
    ws.send(BIG_TEXT)
    const close = await withDeadline(done, 5000, 'undici exchange')
    // undici inflates what it receives but sends uncompressed, so only the server side is checked.
    assertExchange({ extensions: ws.extensions, echoes, close }, 4002, sniffer!, false)
  })

  test('headless Chromium exchanges text, binary and compressed messages and closes with 4003', async (t) => {
    const skip = chromiumSkipReason()
    if (skip) {
      t.skip(skip)
      return
    }
    const { chromium } = await import('playwright-core')
    const url = await sniff()
    const profile = mkdtempSync(join(tmpdir(), 'switchboard-chromium-'))
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS],
      timeout: 20000,
    })
    try {
      const page = context.pages()[0] ?? (await context.newPage())
      const result = await page.evaluate(
        async ({ url, big, binary }) => {
          const ws = new WebSocket(url)
          ws.binaryType = 'arraybuffer'
          const echoes: Array<{ text?: string; bytes?: number[] }> = []
          const close = await new Promise<{ code: number; reason: string }>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('browser exchange timed out')), 5000)
            ws.onopen = () => {
              ws.send('hello, switchboard')
              ws.send(new Uint8Array(binary))
              ws.send(big)
            }
            ws.onmessage = (e) => {
              echoes.push(
                typeof e.data === 'string'
                  ? { text: e.data }
                  : { bytes: [...new Uint8Array(e.data)] },
              )
              if (echoes.length === 3) ws.close(4003, 'bye from chromium')
            }
            ws.onclose = (e) => {
              clearTimeout(timer)
              resolve({ code: e.code, reason: e.reason })
            }
            ws.onerror = () => reject(new Error('browser WebSocket error'))
          })
          return { extensions: ws.extensions, echoes, close }
        },
        { url, big: BIG_TEXT, binary: [...BINARY] },
      )
      assertExchange(result, 4003, sniffer!, true)
    } finally {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    }
  })
})

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)
  })
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer))
}
