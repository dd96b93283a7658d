import type { Frame } from './transport.ts'

/** Answers which queued frames a slow-consumer policy may drop (implemented by the session). */
export interface DropPolicy {
  droppable(frame: Frame): boolean
}

/**
 * A session's queue of frames waiting for the next flush, counted in bytes. The hub appends
 * shared frames; the session flushes the whole queue once per write window (see FlushQueue).
 * Dropping and conflation leave holes (`null`) that are compacted away, so the array never
 * outgrows the live frames by more than a factor of two.
 *
 * @example
 * const outbox = new Outbox()
 * outbox.push(frame)
 * transport.write(outbox.take())
 */
export class Outbox {
  /** Bytes of the frames queued. */
  bytes = 0
  /** Publication frames queued. */
  publications = 0
  #items: (Frame | null)[] = []
  #head = 0
  #live = 0
  /** channel -> conflation key -> index; built only when conflation is first needed. */
  #index: Map<string, Map<string, number>> | null = null

  /** Number of frames queued. */
  get length(): number {
    return this.#live
  }

  push(frame: Frame): void {
    this.#items.push(frame)
    this.#live++
    this.bytes += frame.byteLength
    if (frame.publication) this.publications++
    if (this.#index !== null && frame.key !== undefined && frame.channel !== undefined) {
      this.#indexSet(frame.channel, frame.key, this.#items.length - 1)
    }
  }

  /** Removes and returns the queued publication of `channel` with conflation key `key`. */
  takeConflated(channel: string, key: string): Frame | null {
    if (this.#index === null) this.#buildIndex()
    const byKey = this.#index!.get(channel)
    const at = byKey?.get(key)
    if (at === undefined) return null
    byKey!.delete(key)
    const frame = this.#items[at] ?? null
    if (frame === null) return null
    this.#remove(at, frame)
    return frame
  }

  /** Removes and returns the oldest frame `policy` allows to drop, or `null`. */
  dropOldest(policy: DropPolicy): Frame | null {
    const items = this.#items
    for (let i = this.#head; i < items.length; i++) {
      const frame = items[i]
      if (frame == null || !policy.droppable(frame)) continue
      if (this.#index !== null && frame.key !== undefined && frame.channel !== undefined) {
        this.#index.get(frame.channel)?.delete(frame.key)
      }
      this.#remove(i, frame)
      return frame
    }
    return null
  }

  /** Takes every queued frame, oldest first, and empties the queue. */
  take(): Frame[] {
    let out: Frame[]
    if (this.#head === 0 && this.#live === this.#items.length) out = this.#items as Frame[]
    else out = this.#items.filter((f, i): f is Frame => i >= this.#head && f !== null)
    this.clear()
    return out
  }

  /** Forgets everything queued. */
  clear(): void {
    this.#items = []
    this.#head = 0
    this.#live = 0
    this.bytes = 0
    this.publications = 0
    this.#index = null
  }

  #remove(at: number, frame: Frame): void {
    this.#items[at] = null
    this.#live--
    this.bytes -= frame.byteLength
    if (frame.publication) this.publications--
    const items = this.#items
    if (at === this.#head)
      while (this.#head < items.length && items[this.#head] === null) this.#head++
    const span = items.length - this.#head
    if (
      (this.#head > 32 && this.#head * 2 > items.length) ||
      (span > 32 && this.#live * 2 < span)
    ) {
      this.#compact()
    }
  }

  #compact(): void {
    this.#items = this.#items.filter((f, i) => i >= this.#head && f !== null)
    this.#head = 0
    if (this.#index !== null) this.#buildIndex()
  }

  #buildIndex(): void {
    this.#index = new Map()
    const items = this.#items
    for (let i = this.#head; i < items.length; i++) {
      const f = items[i]
      if (f != null && f.key !== undefined && f.channel !== undefined) {
        this.#indexSet(f.channel, f.key, i)
      }
    }
  }

  #indexSet(channel: string, key: string, at: number): void {
    let byKey = this.#index!.get(channel)
    if (byKey === undefined) {
      byKey = new Map()
      this.#index!.set(channel, byKey)
    }
    byKey.set(key, at)
  }
}
