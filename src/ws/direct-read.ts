// Reading a TCP socket without Node's Readable machinery.
//
// By default every read on a net.Socket allocates a fresh 64 KiB buffer in C++, shrinks it to the
// bytes read, wraps it in a new Buffer and pushes it through the Readable stream to a 'data'
// listener. net.Socket has a leaner mode for this, documented as the `onread` option of
// `socket.connect()`: the kernel reads into one caller-owned buffer and a callback gets the byte
// count. Node only offers it to sockets it connects, not to sockets a server accepts, so a
// WebSocket that takes over an accepted socket turns the same mode on by hand: it sets the two
// fields `onread` would have set and hands the buffer to the handle. Every step is checked first
// (the fields exist, the handle can take a buffer, nothing is buffered in the stream, plain TCP),
// and anything unexpected keeps the ordinary 'data' path, which behaves the same, only slower.
//
// All sockets read into one module-level buffer. That is safe because a read callback runs to
// completion before the next read: the callback copies the bytes it was given into a pooled
// Buffer before anything else can overwrite them.
import { Socket } from 'node:net'

export type ReadCallback = (this: Socket, nread: number, buf: Buffer) => boolean | undefined

interface UserBufferHandle {
  useUserBuffer(buf: Uint8Array): void
}

const keys = findKeys()
const SHARED = Buffer.allocUnsafeSlow(64 * 1024)

function findKeys(): { buffer: symbol; callback: symbol } | null {
  const probe = new Socket()
  let buffer: symbol | undefined
  let callback: symbol | undefined
  for (const sym of Object.getOwnPropertySymbols(probe)) {
    if (sym.description === 'kBuffer') buffer = sym
    else if (sym.description === 'kBufferCb') callback = sym
  }
  probe.destroy()
  const fields = probe as unknown as Record<symbol, unknown>
  // Both must exist and start empty, as net.Socket's constructor leaves them without `onread`.
  if (buffer === undefined || callback === undefined) return null
  if (fields[buffer] !== null || fields[callback] !== null) return null
  return { buffer, callback }
}

/** Whether this Node has the fields the direct read path needs. */
export const directReadSupported = keys !== null

// SWITCHBOARD_NO_DIRECT_READ=1 keeps every socket on 'data' events (an escape hatch).
let enabled = directReadSupported && process.env.SWITCHBOARD_NO_DIRECT_READ !== '1'

/** @internal tests run the same traffic through both read paths. */
export function setDirectRead(on: boolean): void {
  enabled = on && directReadSupported
}

/** Whether `socket` reads through the direct path. */
export function readsDirectly(socket: Socket): boolean {
  return keys !== null && (socket as unknown as Record<symbol, unknown>)[keys.buffer] === SHARED
}

/**
 * Makes the read callback for `useDirectRead` (once per module, not per socket): it copies each
 * read into a pooled Buffer of its own and calls `onChunk` with the socket as `this`.
 */
export function directReader(onChunk: (this: Socket, chunk: Buffer) => void): ReadCallback {
  return function onDirectRead(this: Socket, nread: number, buf: Buffer) {
    const chunk = Buffer.allocUnsafe(nread)
    buf.copy(chunk, 0, 0, nread)
    onChunk.call(this, chunk)
    return undefined
  }
}

/**
 * Switches an accepted, plain-TCP socket to direct reads through `reader` (from `directReader`)
 * instead of 'data' events. Returns false, changing nothing, when the socket cannot be switched;
 * the caller then listens for 'data'.
 */
export function useDirectRead(socket: Socket, reader: ReadCallback): boolean {
  if (!enabled || keys === null) return false
  const handle = (socket as unknown as { _handle?: Partial<UserBufferHandle> | null })._handle
  if (handle == null || typeof handle.useUserBuffer !== 'function') return false
  // TLS sockets wrap another stream; their handle is not the TCP one.
  if ((socket as { encrypted?: boolean }).encrypted === true) return false
  if (socket.readableLength !== 0 || socket.destroyed || !socket.readable) return false
  const fields = socket as unknown as Record<symbol, unknown>
  if (fields[keys.buffer] !== null || fields[keys.callback] !== null) return false
  fields[keys.buffer] = SHARED
  fields[keys.callback] = reader
  handle.useUserBuffer(SHARED)
  return true
}
