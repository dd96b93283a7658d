import type { Subscription } from './channel-state.ts'

/**
 * A session's subscriptions by channel name, with the reading API of a `Map` (insertion order).
 * Most sessions have one: it is held in two fields, and a `Map` (about 180 bytes, most of them its
 * hash table) is made only when a second channel is added, so an idle session on one channel
 * keeps none.
 *
 * @example
 * const subs = new SubscriptionMap()
 * subs.set('chat:lobby', sub)
 * for (const [channel, s] of subs) console.log(channel, s.offset)
 */
export class SubscriptionMap implements ReadonlyMap<string, Subscription> {
  /** The one entry while there is at most one and no Map. */
  #channel: string | null = null
  #sub: Subscription | null = null
  /** Every entry, once a second channel was added. */
  #map: Map<string, Subscription> | null = null

  get size(): number {
    if (this.#map !== null) return this.#map.size
    return this.#channel === null ? 0 : 1
  }

  get(channel: string): Subscription | undefined {
    if (this.#map !== null) return this.#map.get(channel)
    return channel === this.#channel ? this.#sub! : undefined
  }

  has(channel: string): boolean {
    if (this.#map !== null) return this.#map.has(channel)
    return channel === this.#channel
  }

  set(channel: string, sub: Subscription): this {
    if (this.#map !== null) this.#map.set(channel, sub)
    else if (this.#channel === null || this.#channel === channel) {
      this.#channel = channel
      this.#sub = sub
    } else {
      this.#map = new Map([
        [this.#channel, this.#sub!],
        [channel, sub],
      ])
      this.#channel = null
      this.#sub = null
    }
    return this
  }

  delete(channel: string): boolean {
    if (this.#map !== null) return this.#map.delete(channel)
    if (channel !== this.#channel) return false
    this.#channel = null
    this.#sub = null
    return true
  }

  clear(): void {
    this.#map = null
    this.#channel = null
    this.#sub = null
  }

  *entries(): MapIterator<[string, Subscription]> {
    if (this.#map !== null) yield* this.#map.entries()
    else if (this.#channel !== null) yield [this.#channel, this.#sub!]
  }

  *keys(): MapIterator<string> {
    for (const [channel] of this.entries()) yield channel
  }

  *values(): MapIterator<Subscription> {
    for (const [, sub] of this.entries()) yield sub
  }

  forEach(
    fn: (sub: Subscription, channel: string, map: ReadonlyMap<string, Subscription>) => void,
    thisArg?: unknown,
  ): void {
    for (const [channel, sub] of this.entries()) fn.call(thisArg, sub, channel, this)
  }

  [Symbol.iterator](): MapIterator<[string, Subscription]> {
    return this.entries()
  }
}
