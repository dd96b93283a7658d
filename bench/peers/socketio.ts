// Peer: Socket.IO 4 with the websocket transport only. Echo: an 'echo' event answered with an
// 'echo' event. Broadcast (POST /pub): `io.emit('m', payload)`.
import { createServer } from 'node:http'
import { Server } from 'socket.io'
import { gc, listen, readBody } from './common.ts'

const server = createServer(async (req, res) => {
  if (req.method === 'POST' && req.url === '/pub') {
    const data = await readBody(req)
    io.emit('m', data.toString())
    res.end('ok')
  } else if (req.url === '/__gc') {
    gc()
    res.end('ok')
  } else {
    res.statusCode = 404
    res.end()
  }
})
const io = new Server(server, { transports: ['websocket'], serveClient: false })
io.on('connection', (socket) => {
  socket.on('echo', (data: unknown) => socket.emit('echo', data))
})
listen(server)
