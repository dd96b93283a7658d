/** One message as the `for await` loop yields it. */
export interface WsMessage {
  readonly data: Buffer
  readonly isBinary: boolean
}

/** What the inbox needs of its connection: flow control of the socket. */
export interface InboxOwner {
  /** Bytes the inbox may hold before reading pauses. */
  readonly inboxLimit: number
  pauseReading(): void
  resumeReading(): void
}

/** The queue behind `for await (const message of ws)`. */
export class Inbox implements AsyncIterator<WsMessage> {
  iterating = false
  private readonly ws: InboxOwner
  private queue: WsMessage[] = []
  private bytes = 0
  private ended = false
  private waiter: ((r: IteratorResult<WsMessage>) => void) | null = null

  constructor(ws: InboxOwner) {
    this.ws = ws
  }

  get full(): boolean {
    return this.bytes > this.ws.inboxLimit
  }

  push(data: Buffer, isBinary: boolean): void {
    if (this.ended) return
    const w = this.waiter
    if (w !== null) {
      this.waiter = null
      w({ value: { data, isBinary }, done: false })
      return
    }
    this.queue.push({ data, isBinary })
    this.bytes += data.length
    if (this.full) this.ws.pauseReading()
  }

  end(): void {
    this.ended = true
    const w = this.waiter
    this.waiter = null
    w?.({ value: undefined, done: true })
  }

  next(): Promise<IteratorResult<WsMessage>> {
    const m = this.queue.shift()
    if (m !== undefined) {
      this.bytes -= m.data.length
      if (this.queue.length === 0) this.ws.resumeReading()
      return Promise.resolve({ value: m, done: false })
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true })
    return new Promise((resolve) => {
      this.waiter = resolve
    })
  }

  return(): Promise<IteratorResult<WsMessage>> {
    this.iterating = false
    this.queue = []
    this.bytes = 0
    this.ws.resumeReading()
    return Promise.resolve({ value: undefined, done: true })
  }
}
