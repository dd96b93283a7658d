// Peer: the least a Node server can do per WebSocket delivery or echo, to measure the floor that
// Switchboard sits on. It is not a WebSocket server anyone should run: it answers the handshake
// by hand, checks nothing, and handles only what the benchmark sends. On POST /pub it frames the
// body once and writes the same bytes to every socket in a plain loop. For an echo it reads with
// a 'data' listener, unmasks each frame into a new one and writes it back. What is left is
// Node's per-read and per-write cost (libuv, the JavaScript-to-C++ calls) and the kernel's.
// BENCH_FLOOR_WRITE picks the call: `socket` (`socket.write`, the public API, default) or
// `direct` (Switchboard's own `writeSocket`, straight to the TCP handle; src/net/direct-write.ts).
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import type { Socket } from 'node:net'
import { writeSocket } from '../../src/net/direct-write.ts'
import { gc, listen, readBody } from './common.ts'

const direct = process.env.BENCH_FLOOR_WRITE === 'direct'
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
const sockets = new Set<Socket>()

/** One unmasked text frame holding `payload` (the benchmark's are at most 64 KiB). */
function textFrame(payload: Buffer): Buffer {
  const n = payload.length
  const head = n < 126 ? Buffer.from([0x81, n]) : Buffer.from([0x81, 126, n >> 8, n & 0xff])
  return Buffer.concat([head, payload])
}

const server = createServer(async (req, res) => {
  if (req.method === 'POST' && req.url === '/pub') {
    const frame = textFrame(await readBody(req))
    if (direct) for (const s of sockets) writeSocket(s, frame)
    else for (const s of sockets) s.write(frame)
    res.end('ok')
  } else if (req.url === '/__gc') {
    res.end(gc())
  } else {
    res.statusCode = 404
    res.end()
  }
})

/**
 * Echoes every whole frame in `buf` (client frames are masked) as an unmasked frame of the same
 * opcode; a close frame closes the socket. Returns the bytes of an incomplete frame, or null.
 */
function echo(socket: Socket, buf: Buffer): Buffer | null {
  let at = 0
  while (buf.length - at >= 6) {
    const opcode = buf[at]! & 0x0f
    let len = buf[at + 1]! & 0x7f
    let head = 2
    if (len === 126) {
      if (buf.length - at < 8) break
      len = buf.readUInt16BE(at + 2)
      head = 4
    } else if (len === 127) {
      socket.destroy() // the benchmark sends no frame this large
      return null
    }
    if (buf.length - at < head + 4 + len) break
    if (opcode === 0x8) {
      socket.destroy()
      return null
    }
    const maskAt = at + head
    const outHead = len < 126 ? 2 : 4
    const out = Buffer.allocUnsafe(outHead + len)
    out[0] = 0x80 | opcode
    if (outHead === 2) out[1] = len
    else {
      out[1] = 126
      out.writeUInt16BE(len, 2)
    }
    const from = maskAt + 4
    for (let i = 0; i < len; i++) out[outHead + i] = buf[from + i]! ^ buf[maskAt + (i & 3)]!
    if (direct) writeSocket(socket, out)
    else socket.write(out)
    at = from + len
  }
  return at === buf.length ? null : buf.subarray(at)
}

server.on('upgrade', (req, socket: Socket) => {
  const key = req.headers['sec-websocket-key']
  if (req.url !== '/ws' || typeof key !== 'string') {
    socket.destroy()
    return
  }
  const accept = createHash('sha1')
    .update(key + GUID)
    .digest('base64')
  socket.setNoDelay(true)
  socket.on('error', () => {})
  socket.on('close', () => sockets.delete(socket))
  let rest: Buffer | null = null
  socket.on('data', (chunk: Buffer) => {
    rest = echo(socket, rest === null ? chunk : Buffer.concat([rest, chunk]))
  })
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
  )
  sockets.add(socket)
})

listen(server)
