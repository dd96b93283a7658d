// WebSocket conformance testee: an echo server built on the public API.
//   npm run testee -- --port 9001        (port 0 picks a free port)
// Text is echoed as text and binary as binary; permessage-deflate is accepted; maxPayload is
// 16 MiB. Prints exactly one line `testee listening on ws://127.0.0.1:PORT/` once listening,
// and exits 0 on SIGTERM or SIGINT.
import { Switchboard } from '../src/index.ts'

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  if (i !== -1 && process.argv[i + 1] !== undefined) return process.argv[i + 1]!
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`))
  return eq ? eq.slice(name.length + 3) : fallback
}

const port = Number(arg('port', '9001'))
const host = arg('host', '127.0.0.1')
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`testee: --port must be 0-65535, got ${arg('port', '')}`)
  process.exit(2)
}

const MiB = 1024 * 1024
const app = new Switchboard({ logger: false, headersTimeout: 5_000, requestTimeout: 10_000 })
app.ws('/', {
  maxPayload: 16 * MiB,
  // An echo of 16 MiB messages to a slow reader must not be cut: allow several in flight.
  maxBackpressure: 64 * MiB,
  compression: { threshold: 0 },
  // A public echo server with no credentials: pages of any origin (the conformance suite's
  // browser page, behind its sniffing proxy) may connect.
  allowedOrigins: 'any',
  message(ws, data, isBinary) {
    ws.send(data, isBinary)
  },
})

const address = await app.listen({ port, host })
process.stdout.write(`testee listening on ws://${host}:${address.port}/\n`)

let stopping = false
async function stop(): Promise<void> {
  if (stopping) return
  stopping = true
  await app.close({ graceful: 1000 })
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
