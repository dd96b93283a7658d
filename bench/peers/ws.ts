// Peer: the `ws` library (with bufferutil) on node:http. Echo: send the message back. Broadcast
// (POST /pub): the loop from the ws README, `wss.clients.forEach(c => c.send(data))`.
// BENCH_KIND=rooms (the realistic workload): rooms are Sets of sockets in a Map, joined with the
// text command `j:<id>:<room>` (answered `+<id>`) and left with `l:<room>`; POST /pub/<room> runs
// the same README loop over that room's Set.

import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import { WebSocket, WebSocketServer } from 'ws'
import { gc, kind, listen, readBody, unavailable } from './common.ts'

// ws loads bufferutil when it can; fail loudly instead of measuring the slower JS fallback.
try {
  createRequire(import.meta.url)('bufferutil')
} catch (err) {
  unavailable(`bufferutil does not load: ${(err as Error).message}`)
}

const rooms = new Map<string, Set<WebSocket>>()

function join(ws: WebSocket, room: string, mine: Set<string>): void {
  let set = rooms.get(room)
  if (set === undefined) rooms.set(room, (set = new Set()))
  set.add(ws)
  mine.add(room)
}

function leave(ws: WebSocket, room: string, mine: Set<string>): void {
  const set = rooms.get(room)
  set?.delete(ws)
  if (set?.size === 0) rooms.delete(room)
  mine.delete(room)
}

const server = createServer(async (req, res) => {
  if (req.method === 'POST' && req.url === '/pub') {
    const data = await readBody(req)
    wss.clients.forEach((client) => {
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: false })
    })
    res.end('ok')
  } else if (req.method === 'POST' && req.url?.startsWith('/pub/')) {
    const data = await readBody(req)
    rooms.get(req.url.slice(5))?.forEach((client) => {
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: false })
    })
    res.end('ok')
  } else if (req.url === '/__gc') {
    res.end(gc())
  } else {
    res.statusCode = 404
    res.end()
  }
})
const wss = new WebSocketServer({ server, path: '/ws' })
wss.on('connection', (ws) => {
  if (kind !== 'rooms') {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }))
    return
  }
  const mine = new Set<string>()
  ws.on('message', (data) => {
    const [op, a, b] = data.toString().split(':')
    if (op === 'j' && b !== undefined) {
      join(ws, b, mine)
      ws.send(`+${a}`)
    } else if (op === 'l' && a !== undefined) leave(ws, a, mine)
  })
  ws.on('close', () => {
    for (const room of mine) leave(ws, room, mine)
  })
})
listen(server)
