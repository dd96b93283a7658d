/**
 * The control target of the conformance suite: a `ws` echo server configured like our testee
 * (permessage-deflate on, maxPayload 16 MiB), text echoed as text and binary as binary.
 * Run: node --import tsx test/conformance/websocket/control-server.ts --port 0
 */
import { WebSocketServer } from 'ws'

const portArg = process.argv.indexOf('--port')
const port = portArg === -1 ? 0 : Number(process.argv[portArg + 1])
const server = new WebSocketServer({
  port,
  host: '127.0.0.1',
  perMessageDeflate: true,
  maxPayload: 16 * 1024 * 1024,
})
server.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }))
  ws.on('error', () => {})
})
server.on('listening', () => {
  const address = server.address()
  const bound = typeof address === 'object' && address ? address.port : port
  console.log(`control listening on ws://127.0.0.1:${bound}/`)
})
