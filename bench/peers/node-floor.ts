// Peer: the least a Node server can do per WebSocket delivery or echo, to measure the floor that
// Switchboard sits on. It is not a WebSocket server anyone should run: it answers the handshake
// by hand, checks nothing, and handles only what the benchmark sends. On POST /pub it frames the
// body once and writes the same bytes to every socket in a plain loop. For an echo it reads with
// a 'data' listener, unmasks each frame into a new one and writes it back. What is left is
// Node's per-read and per-write cost (libuv, the JavaScript-to-C++ calls) and the kernel's.
// BENCH_FLOOR_WRITE picks the call: `socket` (`socket.write`, the public API, default) or
// `direct` (Switchboard's own `writeSocket`, straight to the TCP handle; src/net/direct-write.ts).
// BENCH_FLOOR_BATCH=1 writes once per event-loop turn instead: the turn's frames are joined once
// and the same bytes go to every socket (what Switchboard's hub does at max rate).
// BENCH_KIND=rooms (the realistic workload): the `ws` peer's room protocol (`j:<id>:<room>`
// answered `+<id>`, `l:<room>`), rooms as Sets of sockets, POST /pub/<room> framed once and
// written to that room's sockets in the same plain loop.
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import type { Socket } from 'node:net'
import { writeSocket } from '../../src/net/direct-write.ts'
import { gc, kind, listen, readBody } from './common.ts'

const direct = process.env.BENCH_FLOOR_WRITE === 'direct'
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
const batch = process.env.BENCH_FLOOR_BATCH === '1'
const sockets = new Set<Socket>()
// The frames published this turn (batch mode), written to every socket at its end.
let turn: Buffer[] = []
const rooms = new Map<string, Set<Socket>>()
const memberOf = new Map<Socket, Set<string>>()

/** One unmasked text frame holding `payload` (the benchmark's are at most 64 KiB). */
function textFrame(payload: Buffer): Buffer {
  const n = payload.length
  const head = n < 126 ? Buffer.from([0x81, n]) : Buffer.from([0x81, 126, n >> 8, n & 0xff])
  return Buffer.concat([head, payload])
}

const server = createServer(async (req, res) => {
  if (req.method === 'POST' && req.url === '/pub') {
    const frame = textFrame(await readBody(req))
    if (batch) {
      if (turn.push(frame) === 1) setImmediate(writeTurn)
    } else if (direct) for (const s of sockets) writeSocket(s, frame)
    else for (const s of sockets) s.write(frame)
    res.end('ok')
  } else if (req.method === 'POST' && req.url?.startsWith('/pub/')) {
    const frame = textFrame(await readBody(req))
    const room = rooms.get(req.url.slice(5))
    if (room !== undefined) {
      if (direct) for (const s of room) writeSocket(s, frame)
      else for (const s of room) s.write(frame)
    }
    res.end('ok')
  } else if (req.url === '/__gc') {
    res.end(gc())
  } else {
    res.statusCode = 404
    res.end()
  }
})

function writeTurn(): void {
  const bytes = turn.length === 1 ? turn[0]! : Buffer.concat(turn)
  turn = []
  if (direct) for (const s of sockets) writeSocket(s, bytes)
  else for (const s of sockets) s.write(bytes)
}

/**
 * Echoes every whole frame in `buf` (client frames are masked) as an unmasked frame of the same
 * opcode, or in the rooms workload runs it as a room command; a close frame closes the socket.
 * Returns the bytes of an incomplete frame, or null.
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
    if (kind === 'rooms') {
      const text = Buffer.allocUnsafe(len)
      for (let i = 0; i < len; i++) text[i] = buf[maskAt + 4 + i]! ^ buf[maskAt + (i & 3)]!
      command(socket, text.toString())
      at = maskAt + 4 + len
      continue
    }
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

/** The room protocol of the `ws` peer: join (answered) and leave. */
function command(socket: Socket, text: string): void {
  const [op, a, b] = text.split(':')
  const mine = memberOf.get(socket)
  if (mine === undefined) return
  if (op === 'j' && a !== undefined && b !== undefined) {
    let room = rooms.get(b)
    if (room === undefined) rooms.set(b, (room = new Set()))
    room.add(socket)
    mine.add(b)
    const reply = textFrame(Buffer.from(`+${a}`))
    if (direct) writeSocket(socket, reply)
    else socket.write(reply)
  } else if (op === 'l' && a !== undefined) leave(socket, a, mine)
}

function leave(socket: Socket, name: string, mine: Set<string>): void {
  const room = rooms.get(name)
  room?.delete(socket)
  if (room?.size === 0) rooms.delete(name)
  mine.delete(name)
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
  socket.on('close', () => {
    sockets.delete(socket)
    const mine = memberOf.get(socket)
    memberOf.delete(socket)
    if (mine !== undefined) for (const name of mine) leave(socket, name, mine)
  })
  let rest: Buffer | null = null
  socket.on('data', (chunk: Buffer) => {
    rest = echo(socket, rest === null ? chunk : Buffer.concat([rest, chunk]))
  })
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
  )
  if (kind === 'rooms') memberOf.set(socket, new Set())
  else sockets.add(socket)
})

listen(server)
