// The state every connection of one generator run reports to (`Run`), and small helpers the
// scenarios share.
import type { GenConfig } from '../lib/types.ts'
import { buildRequest, HttpConn, type HttpSink } from './http-client.ts'
import type { SseClient, SseSink } from './sse-client.ts'
import type { WsClient, WsSink } from './ws-client.ts'

export type Conn = WsClient | SseClient | HttpConn

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/**
 * The one sink every connection of a run reports to. Scenario behaviour is plugged in through
 * the `on*` hooks, so connections carry no closures of their own.
 */
export class Run implements WsSink, SseSink, HttpSink {
  delivered = 0
  wantPayload = false
  opened = 0
  failed = 0
  dropped = 0
  readonly reasons = new Map<string, number>()
  readonly conns: Conn[] = []
  messageHook: ((c: Conn, buf: Buffer, start: number, end: number) => void) | null = null
  dataHook: (() => void) | null = null
  responseHook: ((c: HttpConn, status: number) => void) | null = null
  private waiter: (() => void) | null = null
  private target = 0

  constructor(readonly cfg: GenConfig) {}

  onOpen(): void {
    this.opened++
    this.check()
  }

  onClose(c: Conn, reason: string): void {
    if (c.open) this.dropped++
    else this.failed++
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1)
    this.check()
  }

  onMessage(c: Conn, buf: Buffer, start: number, end: number): void {
    this.messageHook?.(c, buf, start, end)
  }

  onData(): void {
    this.dataHook?.()
  }

  onResponse(c: HttpConn, status: number): void {
    this.responseHook?.(c, status)
  }

  private check(): void {
    if (this.waiter && this.opened + this.failed >= this.target) this.waiter()
    else this.pumpOpen()
  }

  /** Opens `n` connections of the run's transport with bounded concurrency. */
  async openAll(n: number, make: () => Conn, timeoutMs = 30_000): Promise<number> {
    const t0 = Date.now()
    this.target = this.opened + this.failed + n
    const done = new Promise<void>((r) => {
      this.waiter = r
    })
    this.make = make
    this.toStart = n
    this.pumpOpen()
    const timer = setTimeout(() => this.waiter?.(), timeoutMs)
    await done
    clearTimeout(timer)
    this.waiter = null
    this.toStart = 0
    return (Date.now() - t0) / 1000
  }

  private make: (() => Conn) | null = null
  private toStart = 0

  private pumpOpen(): void {
    while (
      this.toStart > 0 &&
      this.conns.length - this.opened - this.failed < this.cfg.connectConcurrency
    ) {
      this.toStart--
      this.conns.push(this.make!())
    }
  }

  reasonText(): string {
    return [...this.reasons].map(([r, n]) => `${n}× ${r}`).join('; ')
  }
}

export function requireOpen(run: Run, n: number): string | null {
  if (run.opened >= n) return null
  return `only ${run.opened} of ${n} connections opened (${run.failed} failed: ${run.reasonText() || 'timeout'})`
}

/**
 * One GET /__gc to the server (every peer exposes it), so RSS readings follow a full GC. Resolves
 * to the V8 heap in use after that GC, which the Node peers answer with (NaN for Bun, whose
 * answer is `ok`).
 */
export async function serverGc(port: number): Promise<number> {
  let body = ''
  await new Promise<void>((resolve) => {
    const sink: HttpSink = {
      onOpen: (c) => c.send(buildRequest('GET', '/__gc', port)),
      onResponse: (c) => {
        body = c.lastBody
        c.destroy()
        resolve()
      },
      onClose: () => resolve(),
    }
    new HttpConn(port, sink).keepBody = true
    setTimeout(resolve, 3000)
  })
  await sleep(300)
  return /^\d+$/.test(body) ? Number(body) : Number.NaN
}
