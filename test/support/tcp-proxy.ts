// A TCP proxy on loopback that records every byte the upstream sends back to each client
// connection, and can cut every connection: for counting what a node receives from Redis and
// for simulating a network cut.
import { connect, createServer, type Server, type Socket } from 'node:net'

export class TcpProxy {
  readonly #server: Server
  readonly #upstreamPort: number
  readonly #pairs = new Set<[Socket, Socket]>()
  /** Everything upstream sent, over all connections, in arrival order per connection. */
  readonly received: Buffer[] = []
  port = 0

  private constructor(upstreamPort: number) {
    this.#upstreamPort = upstreamPort
    this.#server = createServer((client) => this.#accept(client))
  }

  static async start(upstreamPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(upstreamPort)
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve))
    proxy.port = (proxy.#server.address() as { port: number }).port
    return proxy
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** Bytes received so far. */
  get bytes(): number {
    let n = 0
    for (const b of this.received) n += b.length
    return n
  }

  /** How many times `needle` occurs in what upstream sent. */
  count(needle: string): number {
    const all = Buffer.concat(this.received)
    const n = Buffer.from(needle)
    let count = 0
    for (let i = all.indexOf(n); i >= 0; i = all.indexOf(n, i + 1)) count++
    return count
  }

  /** Destroys every open connection (clients see a network cut). */
  cut(): void {
    for (const [a, b] of this.#pairs) {
      a.destroy()
      b.destroy()
    }
    this.#pairs.clear()
  }

  async close(): Promise<void> {
    this.cut()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  #accept(client: Socket): void {
    const upstream = connect(this.#upstreamPort, '127.0.0.1')
    const pair: [Socket, Socket] = [client, upstream]
    this.#pairs.add(pair)
    upstream.on('data', (chunk: Buffer) => {
      this.received.push(chunk)
      client.write(chunk)
    })
    client.on('data', (chunk: Buffer) => upstream.write(chunk))
    const end = () => {
      this.#pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('close', end)
    upstream.on('close', end)
    client.on('error', end)
    upstream.on('error', end)
  }
}
