// Peer: Bun's built-in server (uWebSockets inside), run with node_modules/.bin/bun.
// Echo: send the message back. Broadcast (POST /pub): `server.publish('all', payload)`.
/* global Bun */
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  async fetch(req, srv) {
    const { pathname } = new URL(req.url)
    if (pathname === '/ws') {
      if (srv.upgrade(req)) return undefined
      return new Response('upgrade failed', { status: 400 })
    }
    if (pathname === '/pub' && req.method === 'POST') {
      srv.publish('all', await req.text())
      return new Response('ok')
    }
    if (pathname === '/__gc') {
      Bun.gc(true)
      return new Response('ok')
    }
    return new Response('not found', { status: 404 })
  },
  websocket: {
    open(ws) {
      ws.subscribe('all')
    },
    message(ws, message) {
      ws.send(message)
    },
  },
})
process.stdout.write(`READY ${server.port}\n`)
