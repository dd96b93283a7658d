import type { ClientCommand } from '../protocol/messages.ts'

/** A command without its id: ids are given when the command is actually sent. */
export type QueuedCommand = ClientCommand extends infer C
  ? C extends ClientCommand
    ? Omit<C, 'id'>
    : never
  : never

/** One command waiting for a connection, with the promise it settles. */
export interface OutboxEntry {
  readonly command: QueuedCommand
  resolve(result: unknown): void
  reject(error: Error): void
  /** Reply timeout once sent (ms). */
  readonly timeout: number
  /** Set for rpc: when the caller's whole deadline runs out, queued or not. */
  timer?: ReturnType<typeof setTimeout> | undefined
  /** In flight with others when the server refused one of them by closing (3501): sent again
   * alone, so the next refusal names it. */
  suspect?: boolean
}

/**
 * The bounded queue of commands issued while the client is not connected (and of publishes that
 * were in flight when the connection dropped). It is flushed in order right after the next
 * `connect` reply. Publishes carry an idempotency key made when `publish` was called, so a publish
 * sent, lost with its connection, and sent again is applied once by the server.
 *
 * @example
 * const outbox = new Outbox(100)
 * outbox.push(entry) // false when full
 * for (const e of outbox.drain()) send(e)
 */
export class Outbox {
  readonly limit: number
  #entries: OutboxEntry[] = []

  constructor(limit: number) {
    this.limit = limit
  }

  get size(): number {
    return this.#entries.length
  }

  /** Queues at the end; returns false (and queues nothing) when the outbox is full. */
  push(entry: OutboxEntry): boolean {
    if (this.#entries.length >= this.limit) return false
    this.#entries.push(entry)
    return true
  }

  /** Puts entries back at the front, keeping their order (in-flight commands of a lost
   * connection go before anything queued after them). May exceed the limit: they were already
   * accepted once. */
  requeue(entries: readonly OutboxEntry[]): void {
    if (entries.length > 0) this.#entries = [...entries, ...this.#entries]
  }

  /** Removes one entry (its rpc deadline ran out while queued). */
  remove(entry: OutboxEntry): boolean {
    const i = this.#entries.indexOf(entry)
    if (i < 0) return false
    this.#entries.splice(i, 1)
    return true
  }

  /** The oldest entry, left in place. */
  peek(): OutboxEntry | undefined {
    return this.#entries[0]
  }

  /** Takes the oldest entry out. */
  shift(): OutboxEntry | undefined {
    return this.#entries.shift()
  }

  /** Takes every entry out, oldest first. */
  drain(): OutboxEntry[] {
    const out = this.#entries
    this.#entries = []
    return out
  }
}

/**
 * A new idempotency key: a random UUID from Web Crypto when available (Node >= 19, browsers),
 * else 128 random bits from `Math.random` (unique enough for a key remembered for minutes).
 *
 * @example
 * idempotencyKey() // '3b241101-e2bb-4255-8caf-4136c566a962'
 */
export function idempotencyKey(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto
  if (c?.randomUUID !== undefined) {
    try {
      return c.randomUUID()
    } catch {
      // insecure browser context: fall through
    }
  }
  let key = ''
  for (let i = 0; i < 4; i++)
    key += Math.floor(Math.random() * 0x100000000)
      .toString(16)
      .padStart(8, '0')
  return key
}
