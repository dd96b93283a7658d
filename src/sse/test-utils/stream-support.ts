// Test support for SSE stream tests: a node:http server per test, a raw TCP client that keeps
// every byte it is answered, and one stream opened on a fresh server.
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { connect, type Socket } from 'node:net'
import { waitFor as until } from '../../test-utils/wait.ts'
import { createSseStream } from '../create.ts'
import type { SseOptions } from '../options.ts'
import type { SseStream } from '../stream.ts'

export type Handler = (req: IncomingMessage, res: ServerResponse) => void

export async function serve(handler: Handler): Promise<{ server: Server; port: number }> {
  const server = createServer(handler)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { server, port: (server.address() as { port: number }).port }
}

export async function stop(server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise((r) => server.close(r))
}

/** A raw client: sends `request` and collects every byte of the answer. */
export function rawClient(port: number, request: string): { socket: Socket; text: () => string } {
  const socket = connect(port, '127.0.0.1')
  let buf = ''
  socket.setEncoding('utf8')
  socket.on('data', (d: string) => {
    buf += d
  })
  socket.on('error', () => {})
  socket.write(Buffer.from(request, 'latin1'))
  return { socket, text: () => buf }
}

/** Opens one stream on a fresh server; resolves with the server side stream and the client. */
export async function open(
  options: SseOptions = {},
  request = 'GET /events HTTP/1.1\r\nHost: x\r\n\r\n',
  onStream?: (s: SseStream) => void,
) {
  let stream: SseStream | undefined
  let serverSocket: Socket | undefined
  const { server, port } = await serve((req, res) => {
    serverSocket = req.socket
    stream = createSseStream(req, res, options)
    onStream?.(stream)
  })
  const client = rawClient(port, request)
  await until(() => stream !== undefined && client.text().includes('\r\n\r\n'))
  return { server, client, stream: stream!, serverSocket: serverSocket! }
}
