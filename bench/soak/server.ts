// The soak's server (a child of bench/soak/run.ts): the channel endpoint on the memory broker,
// one namespace with client publishing, and a report every second over IPC: memory, event-loop
// delay, connections, CPU. A second event-loop histogram covers the steady phase as a whole.
// Usage: node --import tsx bench/soak/server.ts
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Switchboard } from '../../src/index.ts'
import type { ServerSample, ToServer } from './types.ts'

const app = new Switchboard({ logger: false, backlog: 4096 })
// The one publisher is the load generator, a trusted backend: the per-session publish limit
// (100/s by default) would refuse most of a higher --rate.
app.channels.configure({ limits: { publishesPerSecond: Number.POSITIVE_INFINITY } })
app.channels.namespace('soak', { clientPublish: true, historySize: 100 })
const hub = app.hub
const { port } = await app.listen({ port: 0, host: '127.0.0.1' })

const window = monitorEventLoopDelay({ resolution: 1 })
const whole = monitorEventLoopDelay({ resolution: 1 })
window.enable()
let cpu = process.cpuUsage()
let last = performance.now()

setInterval(() => {
  const mem = process.memoryUsage()
  const now = performance.now()
  const used = process.cpuUsage(cpu)
  cpu = process.cpuUsage()
  const sample: ServerSample = {
    t: Date.now(),
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    heapTotal: mem.heapTotal,
    external: mem.external,
    eldP99: window.percentile(99) / 1e6,
    eldMax: window.max / 1e6,
    connections: hub.connectionCount,
    cpuPct: ((used.user + used.system) / 1000 / (now - last)) * 100,
    hubDelivered: hub.stats.delivered,
    hubDropped: hub.stats.dropped,
  }
  last = now
  window.reset()
  process.send?.({ type: 'sample', sample })
}, 1000)

process.on('message', (m: ToServer) => {
  if (m.type === 'steady') {
    whole.reset()
    whole.enable()
  } else if (m.type === 'final') {
    process.send?.({
      type: 'final',
      eldP99: whole.percentile(99) / 1e6,
      eldMax: whole.max / 1e6,
      eldMean: whole.mean / 1e6,
    })
  }
})
process.on('disconnect', () => {
  void app.close({ graceful: 500 }).then(() => process.exit(0))
})
process.send?.({ type: 'listening', port })
