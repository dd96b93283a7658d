// `SseStream.pipe()`: sends an (async) iterable's items to a stream until either ends, through
// the stream's public API only.
import { isPreparedEvent, type PreparedEvent, type SseEvent } from './encode.ts'

/** Items `pipe()` accepts: event objects or prepared events. */
export type SseItem = SseEvent | PreparedEvent

/** What `pipeItems` needs of a stream. */
export interface PipeTarget {
  readonly isClosed: boolean
  readonly signal: AbortSignal
  send(event: SseEvent): boolean
  sendPrepared(prepared: PreparedEvent): boolean
  close(): void
}

const STOP = Symbol('stop')

/** See `SseStream.pipe()`. */
export async function pipeItems(
  stream: PipeTarget,
  source: AsyncIterable<SseItem> | Iterable<SseItem>,
  options?: { close?: boolean },
): Promise<void> {
  if (stream.isClosed) return
  const iterator =
    Symbol.asyncIterator in source
      ? (source as AsyncIterable<SseItem>)[Symbol.asyncIterator]()
      : (source as Iterable<SseItem>)[Symbol.iterator]()
  let finished = false
  try {
    while (!stream.isClosed) {
      const next = iterator.next()
      const result = (await (next instanceof Promise ? race(stream.signal, next) : next)) as
        | IteratorResult<SseItem>
        | typeof STOP
      if (result === STOP || stream.isClosed) break
      if (result.done) {
        finished = true
        break
      }
      const item = result.value
      if (isPreparedEvent(item)) stream.sendPrepared(item)
      else stream.send(item)
    }
  } catch (err) {
    finished = true
    stream.close()
    throw err
  }
  if (!finished) {
    // The client left while the source was waiting: let the source clean up, without waiting.
    try {
      const ret = iterator.return?.()
      if (ret instanceof Promise) ret.catch(ignore)
    } catch {}
  } else if (options?.close !== false) stream.close()
}

/**
 * The next item, or STOP once the stream ends. A fresh promise per item that only the item and
 * the stream's end settle, and whose abort listener goes when the item comes: unlike
 * `Promise.race([next, stream.closed])` it leaves nothing behind on a long-lived promise.
 */
function race(signal: AbortSignal, next: Promise<unknown>): Promise<unknown> {
  if (signal.aborted) return Promise.resolve(STOP)
  return new Promise((resolve, reject) => {
    const stop = () => resolve(STOP)
    signal.addEventListener('abort', stop, { once: true })
    next.then(
      (v) => {
        signal.removeEventListener('abort', stop)
        resolve(v)
      },
      (e) => {
        signal.removeEventListener('abort', stop)
        reject(e)
      },
    )
  })
}

function ignore(): void {}
