// A TCP load balancer for cluster tests, in the test process: each new connection goes to the
// next backend in round-robin order; a backend that refuses the connection is marked dead and
// the next one is tried, so clients of a killed node land on the survivors when they reconnect.
// It knows nothing of HTTP or WebSocket: bytes pass through, and when either side closes, the
// other is closed too (a killed backend drops its clients at once).
import { createServer, type Server, Socket } from 'node:net'

/** One backend of the {@link Balancer}. */
export interface Backend {
  readonly port: number
  /** False once a connection to it was refused. */
  alive: boolean
  /** Connections made to it, ever. */
  accepted: number
  /** Connections to it open now. */
  open: number
}

/**
 * Round-robin TCP balancer on 127.0.0.1 over loopback backends.
 *
 * @example
 * const lb = await Balancer.start([3001, 3002, 3003])
 * new SwitchboardClient({ url: `ws://127.0.0.1:${lb.port}/switchboard` })
 */
export class Balancer {
  readonly backends: Backend[]
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  #next = 0
  #port = 0

  private constructor(ports: number[]) {
    this.backends = ports.map((port) => ({ port, alive: true, accepted: 0, open: 0 }))
    this.#server = createServer({ pauseOnConnect: true }, (client) => {
      this.#sockets.add(client)
      client.on('error', () => client.destroy())
      client.once('close', () => this.#sockets.delete(client))
      this.#route(client, 0)
    })
  }

  static async start(ports: number[]): Promise<Balancer> {
    const lb = new Balancer(ports)
    await new Promise<void>((resolve, reject) => {
      lb.#server.once('error', reject)
      lb.#server.listen(0, '127.0.0.1', () => resolve())
    })
    lb.#port = (lb.#server.address() as { port: number }).port
    return lb
  }

  get port(): number {
    return this.#port
  }

  /** The backend listening on `port`. */
  backend(port: number): Backend {
    const b = this.backends.find((x) => x.port === port)
    if (b === undefined) throw new Error(`no backend on port ${port}`)
    return b
  }

  /** Stops accepting and destroys every connection, both sides. */
  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    return new Promise((resolve) => this.#server.close(() => resolve()))
  }

  /** Connects `client` to the next live backend; `tried` counts refusals for this connection. */
  #route(client: Socket, tried: number): void {
    const live = this.backends.filter((b) => b.alive)
    if (live.length === 0 || tried >= this.backends.length || client.destroyed) {
      client.destroy()
      return
    }
    const backend = live[this.#next++ % live.length]!
    const upstream = new Socket()
    this.#sockets.add(upstream)
    const onRefused = () => {
      this.#sockets.delete(upstream)
      backend.alive = false
      this.#route(client, tried + 1)
    }
    upstream.once('error', onRefused)
    upstream.connect(backend.port, '127.0.0.1', () => {
      upstream.off('error', onRefused)
      backend.accepted++
      backend.open++
      upstream.once('close', () => {
        backend.open--
        this.#sockets.delete(upstream)
        client.destroy()
      })
      upstream.on('error', () => upstream.destroy())
      if (client.destroyed) {
        upstream.destroy()
        return
      }
      client.once('close', () => upstream.destroy())
      upstream.pipe(client)
      client.pipe(upstream)
      client.resume()
    })
  }
}
