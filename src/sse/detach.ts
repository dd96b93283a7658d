/**
 * Detaching a long-lived SSE socket from node:http once its head is written.
 *
 * A node:http connection carries an HTTP parser (native, ~2 KB), an IncomingMessage, a
 * ServerResponse and eight listeners closing over per-connection state: about 10 KB of RSS,
 * which an idle SSE stream would hold for hours for nothing (the body is close-delimited and
 * written by us straight to the socket). Node itself drops all of that when a request upgrades
 * (`_http_server.js`, upgrade branch of onParserExecuteCommon): it removes its socket
 * listeners, detaches the response and frees the parser with `_http_common.freeParser`. We do
 * the same for SSE, with the same public-module function, and only when every listener on the
 * socket is one we recognise; on an unknown Node layout we leave the connection untouched
 * (correct, just heavier). Must run outside the parser's callbacks (the stream does it from
 * its setImmediate flush).
 */
import { createRequire } from 'node:module'
import type { Socket } from 'node:net'

type FreeParser = (parser: unknown, req: unknown, socket: unknown) => void

const freeParser: FreeParser | null = (() => {
  try {
    const common = createRequire(import.meta.url)('_http_common') as { freeParser?: unknown }
    return typeof common.freeParser === 'function' ? (common.freeParser as FreeParser) : null
  } catch {
    return null
  }
})()

/** Socket listeners node:http (Node 20-24) installs per connection, by function name. */
const SERVER_LISTENERS = new Set([
  'bound socketOnClose',
  'bound socketOnData',
  'bound socketOnDrain',
  'bound socketOnEnd',
  'socketOnError',
  'socketOnTimeout',
  'onSocketResume',
  'onSocketPause',
  'onServerResponseClose',
])
/** Listeners that stay: net's own end handling, and anything the caller says is theirs. */
const KEEP = new Set(['onReadableStreamEnd'])
const EVENTS = ['close', 'data', 'drain', 'end', 'error', 'timeout', 'resume', 'pause'] as const

/**
 * Grace for the client to close after our FIN, before the socket is destroyed. node:http's
 * closeAllConnections() no longer sees a detached socket, so this bounds shutdown. Node
 * restarts a socket timeout once while a write is stuck, so a client that reads nothing is cut
 * after about twice this.
 */
const END_GRACE_MS = 1500

function discard(): void {}

/** After detaching nobody else ends our side when the client half-closes. */
function onEnd(this: Socket): void {
  this.end()
}

function onEndGraceOver(this: Socket): void {
  this.destroy()
}

/**
 * Hands `socket` over from node:http to the caller. Returns the ServerResponse when someone
 * still watches it (its `close` must then be emitted by the caller at the end), `null` when it
 * was dropped, or `false` when the socket was left attached (unknown layout, already gone).
 */
export function detachFromHttpServer(
  socket: Socket,
  own: (fn: Function) => boolean,
): import('node:http').ServerResponse | null | false {
  const parser = (socket as { parser?: unknown }).parser
  const res = (socket as { _httpMessage?: import('node:http').ServerResponse | null })._httpMessage
  if (freeParser === null || !parser || !res || socket.destroyed) return false
  for (const event of EVENTS) {
    for (const fn of socket.listeners(event)) {
      if (own(fn) || KEEP.has(fn.name) || SERVER_LISTENERS.has(fn.name)) continue
      return false
    }
  }
  for (const event of EVENTS) {
    for (const fn of socket.listeners(event)) {
      if (SERVER_LISTENERS.has(fn.name)) socket.removeListener(event, fn as () => void)
    }
  }
  res.detachSocket(socket)
  freeParser(parser, null, socket)
  socket.on('error', discard)
  socket.on('data', discard)
  socket.on('end', onEnd)
  socket.resume()
  // node:http's own `finish` listener (resOnFinish) never fires now; anyone else's should.
  let watched = res.listenerCount('close') > 0
  for (const fn of res.listeners('finish')) if (fn.name !== 'bound resOnFinish') watched = true
  return watched ? res : null
}

/** Ends a detached socket; destroys it if the client does not close within a grace period. */
export function endDetached(socket: Socket): void {
  socket.end()
  socket.setTimeout(END_GRACE_MS, onEndGraceOver)
}
