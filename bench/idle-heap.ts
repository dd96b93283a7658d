// Where idle WebSocket memory sits right after a burst of handshakes: V8's heap spaces 2 s after
// N upgrades, again 12 s later, and after a full GC. Not part of the suite (BENCHMARKS.md,
// "Idle memory right after the handshakes").
//
//   node --expose-gc --import tsx bench/idle-heap.ts [connections=10000]
//   node --expose-gc --max-semi-space-size=1 --import tsx bench/idle-heap.ts
//
// The server runs in this process; the clients are raw sockets in a child process, so the
// readings are the server's alone.
import { fork } from 'node:child_process'
import { connect } from 'node:net'
import { getHeapSpaceStatistics } from 'node:v8'
import { Switchboard } from '../src/index.ts'

const UPGRADE =
  'GET /ws HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

if (process.argv[2] === 'clients') {
  const port = Number(process.argv[3])
  const count = Number(process.argv[4])
  const open = []
  for (let i = 0; i < count; i++) {
    const socket = connect(port, '127.0.0.1', () => socket.write(UPGRADE))
    open.push(socket)
    await new Promise((resolve) => socket.once('data', resolve))
  }
  process.send?.('open')
  await sleep(60_000) // the parent kills this process long before
  process.exit(0)
}

const count = Number(process.argv[2] ?? 10_000)
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with --expose-gc')

function report(label: string): void {
  const m = process.memoryUsage()
  const mb = (n: number) => (n / 1e6).toFixed(1)
  const spaces = getHeapSpaceStatistics()
    .filter((s) => s.space_size > 0)
    .map(
      (s) => `${s.space_name.replace('_space', '')} ${mb(s.space_used_size)}/${mb(s.space_size)}`,
    )
  console.log(
    `${label.padEnd(12)} rss ${mb(m.rss)} MB; heap spaces used/size MB: ${spaces.join(', ')}`,
  )
}

const app = new Switchboard({ logger: false })
app.ws('/ws', { message() {} })
const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
gc()
await sleep(12_000)
report('before')
const child = fork(new URL(import.meta.url).pathname, ['clients', String(port), String(count)], {
  execArgv: ['--import', 'tsx'],
})
await new Promise((resolve) => child.once('message', resolve))
await sleep(2_000)
report('2 s after')
await sleep(12_000)
report('14 s after')
gc()
await sleep(1_000)
report('after GC')
child.kill()
await app.close({ graceful: 0 })
