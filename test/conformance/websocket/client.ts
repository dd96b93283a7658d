/**
 * A raw-socket WebSocket client for the conformance suite: it writes whatever bytes a case
 * gives it, parses the HTTP head and the server's frames, reassembles (and inflates) messages,
 * answers pings and close frames like a well-behaved client, and records every protocol
 * violation the server commits. Nothing here can hang: every wait takes a deadline.
 *
 * @example
 * const c = await RawClient.connect(port, Date.now() + 3000)
 * c.socket.write(upgradeRequest({ host: '127.0.0.1' }))
 * await c.waitFor(() => c.head !== null, Date.now() + 3000)
 */
import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import type { MessageInflater } from './deflate.ts'
import {
  closePayload,
  encodeFrame,
  FrameReader,
  isSendableCloseCode,
  isValidUtf8,
  Opcode,
  type ServerFrame,
} from './frame.ts'

export interface HttpHead {
  version: string
  status: number
  reason: string
  headers: Array<[string, string]>
  /** All values of a header joined with ', ' (undefined when absent). */
  get(name: string): string | undefined
}

export interface Msg {
  type: 'text' | 'binary' | 'pong'
  data: Buffer
}

/** Builds an upgrade request as separate lines (each ending in CRLF, the last is the blank line). */
export function upgradeRequest(
  opts: {
    host?: string | null
    path?: string
    method?: string
    version?: string
    key?: string | null
    headers?: Array<[string, string]>
    omit?: string[]
  } = {},
): Buffer[] {
  const omit = new Set((opts.omit ?? []).map((h) => h.toLowerCase()))
  const lines = [`${opts.method ?? 'GET'} ${opts.path ?? '/'} ${opts.version ?? 'HTTP/1.1'}\r\n`]
  const base: Array<[string, string | null | undefined]> = [
    ['Host', opts.host === undefined ? '127.0.0.1' : opts.host],
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Key', opts.key === undefined ? randomBytes(16).toString('base64') : opts.key],
    ['Sec-WebSocket-Version', '13'],
  ]
  const extra = opts.headers ?? []
  for (const [name, value] of base) {
    if (value === null || value === undefined || omit.has(name.toLowerCase())) continue
    if (extra.some(([n]) => n.toLowerCase() === name.toLowerCase())) continue
    lines.push(`${name}: ${value}\r\n`)
  }
  for (const [name, value] of extra) lines.push(`${name}: ${value}\r\n`)
  lines.push('\r\n')
  return lines.map((l) => Buffer.from(l, 'latin1'))
}

const HEAD_LIMIT = 64 * 1024

export class RawClient {
  head: HttpHead | null = null
  /** When the HTTP head was complete (Date.now()). */
  headAt = 0
  /** Bytes after the HTTP head of a non-101 response (the error body). */
  body = Buffer.alloc(0)
  readonly events: Msg[] = []
  /** The server's close frame: code 1005 stands for an empty payload. */
  closeFrame: { code: number; reason: Buffer } | null = null
  tcpClosed = false
  socketError: string | null = null
  readonly violations: string[] = []
  /** Set after a 101 that accepted permessage-deflate. */
  inflater: MessageInflater | null = null
  /** The client already sent a close frame (then a server close is not answered again). */
  sentClose = false
  /** Answer server pings with pongs (resource tests turn this off to play a dead peer). */
  answerPings = true
  /** Answer the server's close frame with a close frame. */
  answerClose = true
  /** Pings the server sent on its own (heartbeats). */
  pingsReceived = 0
  private readonly reader = new FrameReader()
  private http: Buffer | null = Buffer.alloc(0)
  private fragments: Buffer[] | null = null
  private fragOpcode = 0
  private fragCompressed = false
  private readonly waiters = new Set<() => void>()

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.socketError = err.code ?? err.message
    })
    socket.on('close', () => {
      this.tcpClosed = true
      this.notify()
    })
  }

  /** Opens a TCP connection to 127.0.0.1:port, rejecting at the deadline. */
  static connect(port: number, deadline: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1' })
      const timer = setTimeout(
        () => {
          socket.destroy()
          reject(new Error('TCP connect timed out'))
        },
        Math.max(1, deadline - Date.now()),
      )
      socket.once('connect', () => {
        clearTimeout(timer)
        resolve(new RawClient(socket))
      })
      socket.once('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
    })
  }

  /** True while the socket can still carry bytes to the server. */
  alive = (): boolean => !this.tcpClosed && !this.socket.destroyed && this.socketError === null

  /** Resolves true once `pred()` holds, false at the deadline or when the TCP connection closes first. */
  waitFor(pred: () => boolean, deadline: number): Promise<boolean> {
    if (pred()) return Promise.resolve(true)
    return new Promise((resolve) => {
      const check = () => {
        if (pred()) finish(true)
        else if (this.tcpClosed) finish(pred())
      }
      const timer = setTimeout(() => finish(pred()), Math.max(1, deadline - Date.now()))
      const finish = (ok: boolean) => {
        clearTimeout(timer)
        this.waiters.delete(check)
        resolve(ok)
      }
      this.waiters.add(check)
    })
  }

  destroy(): void {
    this.socket.destroy()
  }

  private notify(): void {
    for (const w of [...this.waiters]) w()
  }

  private onData(chunk: Buffer): void {
    if (this.http !== null) {
      const buf = Buffer.concat([this.http, chunk])
      const end = buf.indexOf('\r\n\r\n')
      if (end === -1) {
        this.http = buf.length > HEAD_LIMIT ? Buffer.alloc(0) : buf
        if (buf.length > HEAD_LIMIT) this.violations.push('HTTP response head over 64 KiB')
        return
      }
      this.head = parseHead(buf.subarray(0, end).toString('latin1'))
      this.headAt = Date.now()
      this.http = null
      const rest = buf.subarray(end + 4)
      if (this.head.status !== 101) {
        this.body = Buffer.from(rest)
        this.notify()
        return
      }
      chunk = rest
    } else if (this.head && this.head.status !== 101) {
      this.body = Buffer.concat([this.body, chunk])
      this.notify()
      return
    }
    this.reader.push(chunk)
    try {
      for (let f = this.reader.next(); f !== null; f = this.reader.next()) this.onFrame(f)
    } catch (err) {
      this.violations.push(String(err))
      this.socket.destroy()
    }
    this.notify()
  }

  private onFrame(f: ServerFrame): void {
    if (this.closeFrame !== null)
      this.violations.push(`server sent opcode ${f.opcode} after its close frame`)
    if (f.masked) this.violations.push('server frame is masked (RFC 6455 §5.1)')
    const isData = f.opcode === Opcode.text || f.opcode === Opcode.binary
    const rsvAllowed = this.inflater !== null && isData ? 4 : 0
    if ((f.rsv & ~rsvAllowed) !== 0)
      this.violations.push(`server frame opcode ${f.opcode} has RSV ${f.rsv}`)
    if (f.opcode >= 8) {
      if (!f.fin)
        this.violations.push(`server sent a fragmented control frame (opcode ${f.opcode})`)
      if (f.payload.length > 125) this.violations.push('server control frame over 125 bytes')
    }
    switch (f.opcode) {
      case Opcode.text:
      case Opcode.binary:
        if (this.fragments !== null) this.violations.push('server started a message inside another')
        this.fragments = [f.payload]
        this.fragOpcode = f.opcode
        this.fragCompressed = (f.rsv & 4) !== 0
        if (f.fin) this.finishMessage()
        return
      case Opcode.continuation:
        if (this.fragments === null) {
          this.violations.push('server sent a continuation frame with no message open')
          return
        }
        if (f.rsv & 4) this.violations.push('server set RSV1 on a continuation frame')
        this.fragments.push(f.payload)
        if (f.fin) this.finishMessage()
        return
      case Opcode.ping:
        this.pingsReceived++
        if (this.answerPings && !this.sentClose && this.closeFrame === null && this.alive())
          this.socket.write(encodeFrame({ opcode: Opcode.pong, payload: f.payload }))
        return
      case Opcode.pong:
        this.events.push({ type: 'pong', data: f.payload })
        return
      case Opcode.close:
        this.onClose(f.payload)
        return
      default:
        this.violations.push(`server used reserved opcode ${f.opcode}`)
    }
  }

  private finishMessage(): void {
    let data: Buffer = Buffer.concat(this.fragments!)
    this.fragments = null
    if (this.fragCompressed) {
      try {
        data = this.inflater!.decode(data)
      } catch (err) {
        this.violations.push(`server message does not inflate: ${String(err)}`)
        return
      }
    }
    const type = this.fragOpcode === Opcode.text ? 'text' : 'binary'
    if (type === 'text' && !isValidUtf8(data))
      this.violations.push('server sent invalid UTF-8 text')
    this.events.push({ type, data })
  }

  private onClose(payload: Buffer): void {
    if (this.closeFrame !== null) return
    let code = 1005
    let reason: Buffer = Buffer.alloc(0)
    if (payload.length === 1) this.violations.push('server close frame has a 1-byte payload')
    if (payload.length >= 2) {
      code = payload.readUInt16BE(0)
      reason = payload.subarray(2)
      if (!isSendableCloseCode(code))
        this.violations.push(`server sent close code ${code}, not sendable`)
      if (!isValidUtf8(reason)) this.violations.push('server close reason is not UTF-8')
    }
    this.closeFrame = { code, reason }
    if (this.answerClose && !this.sentClose && this.alive()) {
      this.sentClose = true
      this.socket.write(
        encodeFrame({
          opcode: Opcode.close,
          payload: closePayload(code === 1005 ? undefined : code),
        }),
      )
    }
  }
}

function parseHead(text: string): HttpHead {
  const lines = text.split('\r\n')
  const m = /^(HTTP\/\d\.\d) (\d{3}) ?(.*)$/.exec(lines[0] ?? '')
  const headers: Array<[string, string]> = []
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':')
    if (i > 0) headers.push([line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim()])
  }
  return {
    version: m?.[1] ?? '?',
    status: m ? Number(m[2]) : 0,
    reason: m?.[3] ?? lines[0] ?? '',
    headers,
    get(name: string) {
      const values = headers.filter(([n]) => n === name.toLowerCase()).map(([, v]) => v)
      return values.length === 0 ? undefined : values.join(', ')
    },
  }
}
