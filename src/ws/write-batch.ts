// What the WebSocket connections share for writing: the list of connections to flush at the end
// of the turn, and the joins that let connections sent the same frames write one shared Buffer.
import type { PreparedMessage } from './sender.ts'

/** A connection with frames to write at the end of the turn. */
export interface Flushable {
  flush(): void
}

// ---- one flush per event-loop turn for every connection with queued frames ----
// Two lists used in turn and emptied in place, so a fan-out to thousands of connections does not
// grow a new array every turn (they keep the size of the largest turn: 8 bytes a connection).
let dirty: (Flushable | null)[] = []
let spare: (Flushable | null)[] = []
let dirtyCount = 0
let flushScheduled = false

function flushAll(): void {
  flushScheduled = false
  const list = dirty
  const n = dirtyCount
  dirty = spare
  dirtyCount = 0
  for (let i = 0; i < n; i++) {
    const ws = list[i]!
    list[i] = null
    ws.flush()
  }
  spare = list
  lastBox = null
  lastJoined = null
}

// Fan-out: connections sent the same prepared messages in a turn hold the same Buffers in the
// same order. The second such outbox is joined once into one Buffer, and every further one
// writes that Buffer: one write per connection instead of a corked write per message.
let lastBox: Buffer[] | null = null
let lastJoined: Buffer | null = null
const JOIN_MAX = 64 * 1024

export function sharedJoin(box: Buffer[], bytes: number): Buffer | null {
  const last = lastBox
  lastBox = box
  if (last === null || last.length !== box.length || bytes > JOIN_MAX) {
    lastJoined = null
    return null
  }
  for (let i = 0; i < box.length; i++) {
    if (box[i] !== last[i]) {
      lastJoined = null
      return null
    }
  }
  lastJoined ??= Buffer.concat(box, bytes)
  return lastJoined
}

// `sendPreparedBatch`: the last array joined, how long it was, and the joined frames.
let batchSource: readonly PreparedMessage[] | null = null
let batchLength = 0
let batchJoined: Buffer = Buffer.alloc(0)

export function joinBatch(messages: readonly PreparedMessage[]): Buffer {
  if (messages !== batchSource || messages.length !== batchLength) {
    let bytes = 0
    for (let i = 0; i < messages.length; i++) bytes += messages[i]!.frame.length
    const joined = Buffer.allocUnsafe(bytes)
    let at = 0
    for (let i = 0; i < messages.length; i++) {
      const f = messages[i]!.frame
      f.copy(joined, at)
      at += f.length
    }
    batchSource = messages
    batchLength = messages.length
    batchJoined = joined
  }
  return batchJoined
}

/** Lists `ws` for the end-of-turn flush (the caller lists each connection once per turn). */
export function scheduleFlush(ws: Flushable): void {
  dirty[dirtyCount++] = ws
  if (!flushScheduled) {
    flushScheduled = true
    setImmediate(flushAll)
  }
}
