import { readServerMessage, type ServerMessage } from '../../protocol/index.ts'
import type { Frame, Transport, WireFormat } from '../transport.ts'
import { wsJsonFormat } from '../transport.ts'

/**
 * An in-process {@link Transport} that records what the hub writes, decoded back into
 * messages. For tests of hub behaviour and of applications built on it; no sockets involved.
 *
 * @example
 * const t = new MemoryTransport()
 * const session = hub.connect(t)
 * session.receive(JSON.stringify({ id: 1, type: 'connect' }))
 * await new Promise(setImmediate)
 * t.messages // [{ id: 1, result: { client: '…', user: '', version: 1 } }]
 */
export class MemoryTransport implements Transport {
  readonly format: WireFormat
  /** Every frame written, in order. */
  readonly frames: Frame[] = []
  /** Every frame decoded. */
  readonly messages: ServerMessage[] = []
  /** Number of `write` calls (the hub makes at most one per write window). */
  writes = 0
  /** What `write` answers: false simulates a connection over its high-water mark. */
  accept = true
  /** Set when the hub closed the transport. */
  closedWith: { code: number; reason: string } | null = null

  constructor(format: WireFormat = wsJsonFormat) {
    this.format = format
  }

  write(frames: readonly Frame[]): boolean {
    this.writes++
    for (const f of frames) {
      this.frames.push(f)
      this.messages.push(decodeFrame(this.format, f))
    }
    return this.accept
  }

  close(code: number, reason: string): void {
    this.closedWith = { code, reason }
  }
}

/** Decodes a frame of any built-in format back into its message. */
export function decodeFrame(format: WireFormat, frame: Frame): ServerMessage {
  if (typeof frame.data === 'string') {
    const line = frame.data.split('\n').find((l) => l.startsWith('data: '))
    return JSON.parse(line?.slice(6) ?? 'null') as ServerMessage
  }
  const message = readServerMessage(format.codec.decode(frame.data))
  if (message === undefined) throw new Error('not a server message')
  return message
}
