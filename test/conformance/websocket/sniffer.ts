/**
 * A loopback TCP proxy that passes bytes through unchanged and parses the WebSocket frames in
 * both directions, so interop tests can see on the wire what real clients and our server send
 * (for instance, whether a message really went compressed with RSV1 set).
 *
 * @example
 * const sniffer = await startSniffer(testeePort)
 * // connect a client to ws://127.0.0.1:${sniffer.port}/ …
 * sniffer.frames('client').some((f) => f.rsv & 4)
 */
import { connect, createServer, type Server, type Socket } from 'node:net'
import { FrameReader, type ServerFrame } from './frame.ts'

export interface Sniffer {
  port: number
  frames(direction: 'client' | 'server'): ServerFrame[]
  close(): Promise<void>
}

class Direction {
  private head: Buffer | null = Buffer.alloc(0)
  private readonly reader = new FrameReader()
  readonly frames: ServerFrame[] = []

  feed(chunk: Buffer): void {
    if (this.head !== null) {
      const buf = Buffer.concat([this.head, chunk])
      const end = buf.indexOf('\r\n\r\n')
      if (end === -1) {
        this.head = buf
        return
      }
      this.head = null
      chunk = buf.subarray(end + 4)
    }
    this.reader.push(chunk)
    for (let f = this.reader.next(); f !== null; f = this.reader.next()) this.frames.push(f)
  }
}

export function startSniffer(targetPort: number): Promise<Sniffer> {
  const client = new Direction()
  const server = new Direction()
  const sockets = new Set<Socket>()
  const proxy: Server = createServer((down) => {
    const up = connect({ port: targetPort, host: '127.0.0.1' })
    sockets.add(down).add(up)
    down.on('data', (c: Buffer) => {
      client.feed(c)
      up.write(c)
    })
    up.on('data', (c: Buffer) => {
      server.feed(c)
      down.write(c)
    })
    down.on('end', () => up.end())
    up.on('end', () => down.end())
    for (const s of [down, up]) {
      s.on('error', () => {
        down.destroy()
        up.destroy()
      })
      s.on('close', () => sockets.delete(s))
    }
  })
  return new Promise((resolve) => {
    proxy.listen(0, '127.0.0.1', () => {
      const address = proxy.address()
      resolve({
        port: typeof address === 'object' && address ? address.port : 0,
        frames: (d) => (d === 'client' ? client.frames : server.frames),
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy()
            proxy.close(() => done())
          }),
      })
    })
  })
}
