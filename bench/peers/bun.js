// Peer: Bun's built-in server (uWebSockets inside), run with node_modules/.bin/bun.
// Echo: send the message back. Broadcast (POST /pub): `server.publish('all', payload)`.
// BENCH_KIND=rooms (the realistic workload): topics are the rooms, joined with the text command
// `j:<id>:<room>` (`ws.subscribe(room)`, answered `+<id>`) and left with `l:<room>`
// (`ws.unsubscribe`); POST /pub/<room> is `server.publish(room, payload)`.
/* global Bun */
const rooms = process.env.BENCH_KIND === 'rooms'
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
    if (pathname.startsWith('/pub/') && req.method === 'POST') {
      srv.publish(pathname.slice(5), await req.text())
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
      if (!rooms) ws.subscribe('all')
    },
    message(ws, message) {
      if (!rooms) {
        ws.send(message)
        return
      }
      const [op, a, b] = String(message).split(':')
      if (op === 'j' && b !== undefined) {
        ws.subscribe(b)
        ws.send(`+${a}`)
      } else if (op === 'l' && a !== undefined) ws.unsubscribe(a)
    },
  },
})
process.stdout.write(`READY ${server.port}\n`)
