// Peer: a plain node:http Server-Sent Events server, written the way a small app would: keep the
// open responses in a Set and call `res.write` on each one per event.
import { createServer, type ServerResponse } from 'node:http'
import { gc, listen, readBody } from './common.ts'

const streams = new Set<ServerResponse>()

const server = createServer(async (req, res) => {
  if (req.method === 'GET' && req.url === '/sse') {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    })
    res.flushHeaders()
    streams.add(res)
    req.on('close', () => streams.delete(res))
  } else if (req.method === 'POST' && req.url === '/pub') {
    const event = `data: ${await readBody(req)}\n\n`
    for (const s of streams) s.write(event)
    res.end('ok')
  } else if (req.url === '/__gc') {
    res.end(gc())
  } else {
    res.statusCode = 404
    res.end()
  }
})
listen(server)
