// Peer: Socket.IO 4 with the websocket transport only. Echo: an 'echo' event answered with an
// 'echo' event. Broadcast (POST /pub): `io.emit('m', payload)`. With BENCH_REDIS_URL (cluster
// scenarios) the server uses `@socket.io/redis-adapter` over two node-redis clients, as its
// README shows, so `io.emit` reaches the clients of every node. Rooms (the realistic workload):
// a 'join' event with an acknowledgement (`socket.join(room)`, then the ack), a 'leave' event,
// and POST /pub/<room> is `io.to(room).emit('m', payload)`.
import { createServer } from 'node:http'
import { createAdapter } from '@socket.io/redis-adapter'
import { createClient } from 'redis'
import { Server } from 'socket.io'
import { gc, listen, readBody, redisUrl } from './common.ts'

const server = createServer(async (req, res) => {
  if (req.method === 'POST' && req.url === '/pub') {
    const data = await readBody(req)
    io.emit('m', data.toString())
    res.end('ok')
  } else if (req.method === 'POST' && req.url?.startsWith('/pub/')) {
    const data = await readBody(req)
    io.to(req.url.slice(5)).emit('m', data.toString())
    res.end('ok')
  } else if (req.url === '/__gc') {
    res.end(gc())
  } else {
    res.statusCode = 404
    res.end()
  }
})
const io = new Server(server, { transports: ['websocket'], serveClient: false })
if (redisUrl) {
  const pubClient = createClient({ url: redisUrl })
  const subClient = pubClient.duplicate()
  await Promise.all([pubClient.connect(), subClient.connect()])
  io.adapter(createAdapter(pubClient, subClient))
}
io.on('connection', (socket) => {
  socket.on('echo', (data: unknown) => socket.emit('echo', data))
  socket.on('join', (room: string, ack?: () => void) => {
    void socket.join(room)
    ack?.()
  })
  socket.on('leave', (room: string) => {
    void socket.leave(room)
  })
})
listen(server)
