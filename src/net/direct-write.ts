// Writing a TCP socket without Node's Writable machinery.
//
// `socket.write(buf)` runs the Writable state machine, allocates a write request, and arranges
// callbacks for every call, before the TCP handle tries the kernel. Fan-out writes one Buffer
// per socket per event-loop turn and never waits on a callback, so most of that is wasted: on
// this project's machine it was about a tenth of the CPU of each write (the kernel takes the
// rest), which matters most when every publication is its own turn. This module writes through
// the handle itself, the same call `socket.write` ends in (`handle.writeBuffer`), with one
// reused request object.
//
// It uses Node internals (`process.binding('stream_wrap')`), so every step is guarded, and any
// doubt keeps the ordinary path, which behaves the same, only slower:
// - the binding must have the expected shape (checked once), and the socket must sit straight on
//   a TCP or pipe handle (checked once per socket; never TLS, whose handle takes one write at a
//   time);
// - the socket's own Writable must hold nothing and not be corked, so no byte can overtake one
//   it already queued; bytes that the kernel does not take at once stay queued in libuv, in
//   order, ahead of any later `socket.write`, and are counted by `pendingDirect()` until done;
// - an error from the handle is left to `socket.write`, which reports it as usual.
// SWITCHBOARD_NO_DIRECT_WRITE=1 turns it off; so does `--pending-deprecation`, under which Node
// would warn about `process.binding`.
import type { Socket } from 'node:net'
import { getSystemErrorName } from 'node:util'

interface WriteReq {
  handle: unknown
  oncomplete: ((this: WriteReq, status: number) => void) | null
  async: boolean
  bytes: number
  buffer: Buffer | null
  socket: Socket | null
}

interface StreamWrapBinding {
  WriteWrap: new () => WriteReq
  streamBaseState: Int32Array
  kLastWriteWasAsync: number
}

interface WriteHandle {
  writeBuffer(req: WriteReq, data: Buffer): number
}

const kPending = Symbol('switchboard.directPending')
const kPlain = Symbol('switchboard.directPlain')
type CountedSocket = Socket & {
  [kPending]?: number
  [kPlain]?: boolean
  _handle?: WriteHandle | null
}

/**
 * Only a socket straight on a TCP or pipe handle: libuv queues its writes in order. A TLS
 * socket's handle encrypts one write at a time and aborts the process on a second (Node asserts
 * it), so TLS, and any other wrapped stream, keeps `socket.write`.
 */
function isPlainStream(socket: CountedSocket): boolean {
  if ((socket as { encrypted?: boolean }).encrypted === true) return false
  const handle = socket._handle as { constructor?: { name?: string } } | null | undefined
  const name = handle?.constructor?.name
  return (name === 'TCP' || name === 'Pipe') && typeof socket._handle?.writeBuffer === 'function'
}

const binding = load()

function load(): StreamWrapBinding | null {
  if (process.env.SWITCHBOARD_NO_DIRECT_WRITE === '1') return null
  if (process.execArgv.includes('--pending-deprecation')) return null
  if (process.env.NODE_OPTIONS?.includes('--pending-deprecation')) return null
  if (process.env.NODE_PENDING_DEPRECATION === '1') return null
  try {
    const get = (process as unknown as { binding?: (name: string) => unknown }).binding
    if (typeof get !== 'function') return null
    const b = get.call(process, 'stream_wrap') as Partial<StreamWrapBinding>
    if (typeof b.WriteWrap !== 'function') return null
    if (!(b.streamBaseState instanceof Int32Array)) return null
    if (typeof b.kLastWriteWasAsync !== 'number') return null
    if (b.kLastWriteWasAsync < 0 || b.kLastWriteWasAsync >= b.streamBaseState.length) return null
    return b as StreamWrapBinding
  } catch {
    return null
  }
}

/** Whether this Node has what the direct write path needs. */
export const directWriteSupported = binding !== null

let enabled = directWriteSupported
let spare: WriteReq | null = null

/** Writes made through the handle and writes left to `socket.write`, for tests and benchmarks. */
export const directWriteStats = { direct: 0, fallback: 0 }

/** @internal tests run the same traffic through both paths. */
export function setDirectWrite(on: boolean): void {
  enabled = on && directWriteSupported
}

/** Bytes written through the handle that the kernel has not taken yet. */
export function pendingDirect(socket: Socket): number {
  return (socket as CountedSocket)[kPending] ?? 0
}

/**
 * Writes `data` to `socket` like `socket.write(data)` would, without the Writable machinery when
 * it is safe to. A socket whose direct bytes wait for the kernel emits 'drain' once they and
 * everything written after them are taken.
 */
export function writeSocket(socket: Socket, data: Buffer): void {
  if (!writeDirect(socket as CountedSocket, data)) {
    directWriteStats.fallback++
    socket.write(data)
  }
}

/** What {@link writeOwned} did with the bytes. */
export const TAKEN = 0
/** Written to the handle, but the kernel did not take it all: a 'drain' follows. */
export const PENDING = 1
/** Left to `socket.write` (the socket is closing, or the handle refused). */
export const STREAMED = 2

/**
 * Whether `socket` can take {@link writeOwned}: direct writes are on and it sits straight on a
 * TCP or pipe handle. An owner checks once, when it takes the socket over.
 */
export function canWriteOwned(socket: Socket): boolean {
  return enabled && isPlainStream(socket as CountedSocket)
}

/**
 * `writeSocket` for the owner of a socket that every write goes through: it knows its own last
 * write left the socket's Writable empty and uncorked (that write answered TAKEN, or the
 * Writable was seen empty since), and that the socket is not ending. It skips reading the
 * Writable's state, which in a fan-out to thousands of sockets is memory no other step touches.
 * Returns TAKEN, PENDING or STREAMED (`socket.write` took it, because the handle is gone or
 * refused).
 */
export function writeOwned(socket: Socket, data: Buffer): number {
  const s = socket as CountedSocket
  const handle = s._handle
  const done = handle == null || !enabled ? -1 : writeHandle(s, handle, data)
  if (done >= 0) return done
  directWriteStats.fallback++
  socket.write(data)
  return STREAMED
}

function writeDirect(socket: CountedSocket, data: Buffer): boolean {
  if (!enabled || socket.writableLength !== 0 || socket.writableCorked !== 0) return false
  const handle = socket._handle
  if (handle == null || socket.connecting) return false
  let plain = socket[kPlain]
  if (plain === undefined) plain = socket[kPlain] = isPlainStream(socket)
  if (!plain) return false
  return writeHandle(socket, handle, data) >= 0
}

/**
 * Writes `data` through `handle` with the spare request: -1 when nothing was written, else TAKEN
 * or PENDING. Only a write the kernel did not take whole needs its request's fields (its
 * completion comes in a later turn): it keeps the request, and `spare` is null until it is done.
 */
function writeHandle(socket: CountedSocket, handle: WriteHandle, data: Buffer): number {
  const b = binding!
  const req = spare ?? newRequest(b)
  if (handle.writeBuffer(req, data) !== 0) return -1 // nothing written: let the stream report it
  directWriteStats.direct++
  if (b.streamBaseState[b.kLastWriteWasAsync] === 0) {
    spare = req
    return TAKEN
  }
  // libuv holds the request (and the rest of `data`) until the kernel takes it, ahead of
  // anything written later.
  req.handle = handle
  req.async = true
  req.bytes = data.length
  req.buffer = data
  req.socket = socket
  socket[kPending] = (socket[kPending] ?? 0) + data.length
  spare = null
  return PENDING
}

function newRequest(b: StreamWrapBinding): WriteReq {
  const req = new b.WriteWrap()
  req.handle = null
  req.oncomplete = onComplete
  req.async = false
  req.bytes = 0
  req.buffer = null
  req.socket = null
  return req
}

function onComplete(this: WriteReq, status: number): void {
  const socket = this.socket as CountedSocket | null
  const bytes = this.bytes
  this.buffer = null
  this.socket = null
  this.handle = null
  this.async = false
  spare ??= this
  if (socket === null) return
  socket[kPending] = (socket[kPending] ?? bytes) - bytes
  if (socket.destroyed) return
  if (status < 0) {
    socket.destroy(new Error(`write ${getSystemErrorName(status)}`))
    return
  }
  if (socket[kPending] === 0) drainWhenIdle(socket)
}

const EMPTY = Buffer.alloc(0)

/**
 * The direct bytes are all taken: 'drain' now if the Writable is empty too. Otherwise the
 * Writable emits it itself when it needs one; when it does not (it holds less than its high
 * water mark), an empty write's callback tells when it has emptied, and this looks again.
 */
function drainWhenIdle(socket: CountedSocket): void {
  if (socket.destroyed || (socket[kPending] ?? 0) !== 0) return
  if (socket.writableLength === 0) socket.emit('drain')
  else if (!socket.writableNeedDrain && !socket.writableEnded) {
    socket.write(EMPTY, () => drainWhenIdle(socket))
  }
}
