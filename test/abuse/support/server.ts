// The server of the abuse tests, in its own process so its memory is its own: an HTTP route, a
// WebSocket echo, the channel endpoint, and an IPC channel for memory readings (current and
// peak, sampled every 20 ms), garbage collection, publishing and connection counts.
// Usage: fork('test/abuse/support/server.ts', [JSON.stringify(config)], { execArgv: ['--expose-gc', '--import', 'tsx'] })
import { Switchboard } from '../../../src/index.ts'
import type { AbuseConfig, FromAbuseServer, ToAbuseServer } from './types.ts'

const cfg = JSON.parse(process.argv[2] ?? '{}') as AbuseConfig
const app = new Switchboard({
  logger: false,
  ...(cfg.headersTimeout ? { headersTimeout: cfg.headersTimeout } : null),
  ...(cfg.requestTimeout ? { requestTimeout: cfg.requestTimeout } : null),
})
const wsCloses: Record<string, number> = {}
let wsOpen = 0
app.get('/ping', (ctx) => ctx.text('pong'))
app.post('/body', async (ctx) => ctx.json({ bytes: (await ctx.readBytes()).length }))
app.ws('/echo', {
  ...cfg.echo,
  open() {
    wsOpen++
  },
  message(ws, data, isBinary) {
    ws.send(data, isBinary)
  },
  close(_ws, code) {
    wsOpen--
    wsCloses[code] = (wsCloses[code] ?? 0) + 1
  },
})
// Takes messages and drops them (counted): a target that answers nothing.
let sinkBytes = 0
app.ws('/sink', {
  ...cfg.sink,
  message(_ws, data) {
    sinkBytes += data.length
  },
  close(_ws, code) {
    sinkCloses[code] = (sinkCloses[code] ?? 0) + 1
  },
})
const sinkCloses: Record<string, number> = {}
app.ws('/stall', {
  upgradeTimeout: 500,
  upgrade: () => new Promise(() => {}), // an auth call that never answers
})
app.channels.configure({ ...cfg.channels })
app.channels.namespace('feed', { clientPublish: true, historySize: 16 })
const { port } = await app.listen({ port: 0, host: '127.0.0.1' })

let peakRss = 0
let peakHeap = 0
const sampler = setInterval(() => {
  const m = process.memoryUsage()
  if (m.rss > peakRss) peakRss = m.rss
  if (m.heapUsed > peakHeap) peakHeap = m.heapUsed
}, 20)
sampler.unref()

let publisher: NodeJS.Timeout | null = null
const send = (m: FromAbuseServer) => process.send?.(m)

process.on('message', (m: ToAbuseServer) => {
  switch (m.type) {
    case 'gc':
      globalThis.gc?.()
      globalThis.gc?.()
      send({ type: 'gc' })
      break
    case 'stats': {
      const mem = process.memoryUsage()
      send({
        type: 'stats',
        rss: mem.rss,
        heapUsed: mem.heapUsed,
        peakRss,
        peakHeap,
        wsOpen,
        wsCloses: { ...wsCloses },
        sinkBytes,
        sinkCloses: { ...sinkCloses },
        hubConnections: app.hub.connectionCount,
        hubDropped: app.hub.stats.dropped,
      })
      break
    }
    case 'reset-peak': {
      const mem = process.memoryUsage()
      peakRss = mem.rss
      peakHeap = mem.heapUsed
      send({ type: 'reset-peak' })
      break
    }
    case 'publish': {
      // A steady publisher on the server itself: `perTick` publications every 10 ms, each data
      // carrying the send time so a subscriber in another process can measure its latency.
      if (publisher) clearInterval(publisher)
      const pad = 'x'.repeat(m.bytes)
      publisher = setInterval(() => {
        for (let i = 0; i < m.perTick; i++) {
          void app.hub.publish(m.channel, { t: performance.timeOrigin + performance.now(), pad })
        }
      }, 10)
      send({ type: 'publish' })
      break
    }
    case 'stop-publish':
      if (publisher) clearInterval(publisher)
      publisher = null
      send({ type: 'stop-publish' })
      break
  }
})
process.on('disconnect', () => {
  void app.close({ graceful: 200 }).then(() => process.exit(0))
})
send({ type: 'listening', port })
