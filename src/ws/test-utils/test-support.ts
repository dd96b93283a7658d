/** Shared helpers of the connection tests (not part of the package). */
import { connect, type Socket } from 'node:net'
import { after } from 'node:test'
import WebSocket from 'ws'
import { Switchboard } from '../../index.ts'

export const apps: Switchboard[] = []
after(async () => {
  await Promise.all(apps.map((a) => a.close({ graceful: 200 })))
})

export async function serve(
  define: (app: Switchboard) => void,
): Promise<{ app: Switchboard; port: number; url: string }> {
  const app = new Switchboard({ logger: false })
  define(app)
  const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
  apps.push(app)
  return { app, port, url: `ws://127.0.0.1:${port}` }
}

export function open(url: string, opts?: WebSocket.ClientOptions): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts)
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
  })
}

export function closed(ws: WebSocket): Promise<[number, string]> {
  return new Promise((resolve) =>
    ws.once('close', (code, reason) => resolve([code, reason.toString()])),
  )
}

/** Sends a raw handshake and resolves with the socket and the response head once it arrives. */
export function rawHandshake(
  port: number,
  lines: string[],
): Promise<{ socket: Socket; head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let buf = Buffer.alloc(0)
    socket.on('error', reject)
    socket.on('data', function onData(chunk) {
      buf = Buffer.concat([buf, chunk])
      const end = buf.indexOf('\r\n\r\n')
      if (end === -1) return
      socket.off('data', onData)
      resolve({ socket, head: buf.subarray(0, end).toString(), rest: buf.subarray(end + 4) })
    })
    socket.write(`${lines.join('\r\n')}\r\n\r\n`)
  })
}

export const GOOD = [
  'GET /ws HTTP/1.1',
  'Host: 127.0.0.1',
  'Upgrade: websocket',
  'Connection: Upgrade',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Version: 13',
]

export function readAll(socket: Socket, first: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts = [first]
    socket.on('data', (c) => parts.push(c))
    socket.on('close', () => resolve(Buffer.concat(parts)))
  })
}
