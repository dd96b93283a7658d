// Peer: Bun's built-in server (uWebSockets inside), run with node_modules/.bin/bun.
// Echo: send the message back. Broadcast (POST /pub): `server.publish('all', payload)`.
// BENCH_KIND=rooms (the realistic workload): topics are the rooms, joined with the text command
// `j:<id>:<room>` (`ws.subscribe(room)`, answered `+<id>`) and left with `l:<room>`
// (`ws.unsubscribe`); POST /pub/<room> is `server.publish(room, payload)`.
// BENCH_KIND=sse: GET /sse is an event stream on Bun's direct ReadableStream (its fastest: no
// queue, the write goes to the socket), kept open by a pull() that never settles; POST /pub
// writes `data: <payload>\n\n` to every open stream and flushes it, the way a Bun app would.
/* global Bun */
const rooms = process.env.BENCH_KIND === 'rooms'
/** The open SSE streams' controllers. */
const streams = new Set()
const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
}

function sseStream(req) {
  return new Response(
    new ReadableStream({
      type: 'direct',
      pull(controller) {
        streams.add(controller)
        // Bun sends the head with the first bytes: a comment line (no event) sends it now.
        controller.write(':\n')
        controller.flush()
        return new Promise((resolve) => {
          req.signal.addEventListener('abort', () => {
            streams.delete(controller)
            resolve()
          })
        })
      },
    }),
    { headers: SSE_HEADERS },
  )
}
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  async fetch(req, srv) {
    const { pathname } = new URL(req.url)
    if (pathname === '/ws') {
      if (srv.upgrade(req)) return undefined
      return new Response('upgrade failed', { status: 400 })
    }
    if (pathname === '/sse') {
      srv.timeout(req, 0) // an event stream is idle between events by design
      return sseStream(req)
    }
    if (pathname === '/pub' && req.method === 'POST') {
      const text = await req.text()
      if (streams.size > 0) {
        const event = `data: ${text}\n\n`
        for (const c of streams) {
          c.write(event)
          c.flush()
        }
      } else srv.publish('all', text)
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
