// Helpers shared by the Node peers: body reading, the /__gc hook and the READY handshake with
// the orchestrator. Peers listen on 127.0.0.1 port 0 and print `READY <port>` once listening;
// a peer that cannot run prints `UNAVAILABLE <reason>` and exits with code 3.
import type { IncomingMessage, Server } from 'node:http'
import type { AddressInfo } from 'node:net'

// Exit cleanly when the orchestrator stops the peer, so `--cpu-prof` (BENCH_NODE_ARGS) gets written.
process.once('SIGTERM', () => process.exit(0))

/** Which server a peer should start: decided by the scenario. */
export const kind = (process.env.BENCH_KIND ?? 'ws') as
  | 'http'
  | 'ws'
  | 'sse'
  | 'ws-channel'
  | 'sse-channel'
  | 'rooms'

/** The redis-server a cluster node shares with the others (BENCH_REDIS_URL), or '' for none. */
export const redisUrl = process.env.BENCH_REDIS_URL ?? ''

/** The directory of a DurableBroker (BENCH_DURABLE_DIR, a fresh temp dir per run), or '' for none. */
export const durableDir = process.env.BENCH_DURABLE_DIR ?? ''

/** Reads a request body (publications are 64 bytes; capped at 1 MiB). */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = []
    let size = 0
    req.on('data', (b: Buffer) => {
      size += b.length
      if (size > 1 << 20) req.destroy(new Error('body too large'))
      else parts.push(b)
    })
    req.on('end', () => resolve(parts.length === 1 ? parts[0]! : Buffer.concat(parts)))
    req.on('error', reject)
  })
}

/**
 * Runs a full GC when the process was started with --expose-gc (the orchestrator does that) and
 * returns the V8 heap in use after it, in bytes: the body of every Node peer's `GET /__gc`, which
 * the idle scenarios read for their heap columns.
 */
export function gc(): string {
  ;(globalThis as { gc?: () => void }).gc?.()
  return String(process.memoryUsage().heapUsed)
}

/** Announces the bound port to the orchestrator. */
export function announce(port: number): void {
  process.stdout.write(`READY ${port}\n`)
}

/** Listens on 127.0.0.1:0 and announces the port. */
export function listen(server: Server): void {
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
    announce((server.address() as AddressInfo).port)
  })
}

/** Reports that this peer cannot run here and exits. */
export function unavailable(reason: string): never {
  process.stdout.write(`UNAVAILABLE ${reason.replace(/\s+/g, ' ')}\n`)
  process.exit(3)
}
