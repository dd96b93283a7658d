/**
 * A minimal typed event emitter (browsers have `EventTarget`, but its events carry no typed
 * payload and Node 20's lacks `CustomEvent` typing). A listener that throws does not stop the
 * others; the error is rethrown asynchronously so it still reaches the console.
 *
 * @example
 * const e = new Emitter<{ state: [string] }>()
 * const off = e.on('state', (s) => console.log(s))
 * e.emit('state', 'connected'); off()
 */
export class Emitter<Events extends { [K in keyof Events]: unknown[] }> {
  #listeners: { [K in keyof Events]?: Array<(...args: Events[K]) => void> } = {}

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: (...args: Events[K]) => void): () => void {
    const list = this.#listeners[event]
    if (list === undefined) this.#listeners[event] = [listener]
    else list.push(listener)
    return () => this.off(event, listener)
  }

  /** Removes a listener added with {@link on}. */
  off<K extends keyof Events>(event: K, listener: (...args: Events[K]) => void): void {
    const list = this.#listeners[event]
    if (list === undefined) return
    const i = list.indexOf(listener)
    if (i >= 0) list.splice(i, 1)
  }

  /** Calls every listener of `event` in the order they were added. */
  emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    const list = this.#listeners[event]
    if (list === undefined || list.length === 0) return
    for (const listener of list.slice()) {
      try {
        listener(...args)
      } catch (error) {
        queueMicrotask(() => {
          throw error
        })
      }
    }
  }
}
