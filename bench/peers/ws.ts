// Peer: the `ws` library (with bufferutil) on node:http. Echo: send the message back. Broadcast
// (POST /pub): the loop from the ws README, `wss.clients.forEach(c => c.send(data))`.

import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import { WebSocket, WebSocketServer } from 'ws'
import { gc, listen, readBody, unavailable } from './common.ts'

// ws loads bufferutil when it can; fail loudly instead of measuring the slower JS fallback.
try {
  createRequire(import.meta.url)('bufferutil')
} catch (err) {
  unavailable(`bufferutil does not load: ${(err as Error).message}`)
}

const server = createServer(async (req, res) => {
  if (req.method === 'POST' && req.url === '/pub') {
    const data = await readBody(req)
    wss.clients.forEach((client) => {
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: false })
    })
    res.end('ok')
  } else if (req.url === '/__gc') {
    gc()
    res.end('ok')
  } else {
    res.statusCode = 404
    res.end()
  }
})
const wss = new WebSocketServer({ server, path: '/ws' })
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }))
})
listen(server)
