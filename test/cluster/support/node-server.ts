// One Switchboard node of the test cluster, run as a child process:
//   node --import tsx test/cluster/support/node-server.ts <redis-url> [--drain <ms>]
// It listens on a free loopback port with a RedisBroker and two namespaces (`big`: history
// that outlasts any outage of the test; `small`: five publications), then prints
// `ready <port>`. It exits when its stdin closes, so a test process that dies takes it along.
//
// The publisher node is driven over HTTP, straight to its port (never through the balancer):
//   POST /pump { channels, rate, count }  starts publishing { seq } 1..count to every channel,
//                                         `rate` rounds per second, each awaited in order;
//   GET /pump                             { published, done, error }.
// With `--drain <ms>` the node serves GET /livez and /readyz and drains over that window on
// SIGTERM (`closeOnSignals`), then prints `session-ends [ms, …]` (when it ended each session
// with 3000, shutdown) and `first-503 <ms>` (when /readyz first answered 503)
// and exits.
// Every node answers GET /stats?channels=a,b: connections, local subscribers per channel, the
// hub's counters and the broker's live-delivery holes, for failure messages.
import { RedisBroker } from '../../../src/broker/redis/index.ts'
import { closeOnSignals, Switchboard } from '../../../src/index.ts'

const redisUrl = process.argv[2]
if (redisUrl === undefined) throw new Error('usage: node-server.ts <redis-url>')

const app = new Switchboard({ logger: false })
const broker = new RedisBroker({ url: redisUrl })
app.channels.configure({ broker })
app.channels.namespace('big', { historySize: 1000, historyTtl: 600_000 })
app.channels.namespace('small', { historySize: 5, historyTtl: 600_000 })

interface PumpRequest {
  readonly channels: string[]
  readonly rate: number
  readonly count: number
}

const pump = { published: 0, done: false, error: null as string | null, running: false }

async function runPump({ channels, rate, count }: PumpRequest): Promise<void> {
  const start = performance.now()
  const interval = 1000 / rate
  for (let seq = 1; seq <= count; seq++) {
    // Paced against the start time, so a slow round does not slow the whole run down.
    const wait = start + (seq - 1) * interval - performance.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    for (const channel of channels) {
      const { offset } = await app.hub.publish(channel, { seq })
      if (offset !== seq) throw new Error(`${channel}: seq ${seq} got offset ${offset}`)
    }
    pump.published = seq
  }
}

app.post('/pump', async (ctx) => {
  if (pump.running) return ctx.json({ error: 'already pumping' }, 409)
  pump.running = true
  runPump((await ctx.readJson()) as PumpRequest).then(
    () => {
      pump.done = true
    },
    (err: unknown) => {
      pump.error = String(err)
      pump.done = true
    },
  )
  return ctx.json({ started: true })
})
app.get('/pump', (ctx) => ctx.json(pump))
app.get('/stats', (ctx) => {
  const hub = app.hub
  return ctx.json({
    connections: hub.connectionCount,
    subscribers: Object.fromEntries(
      String(ctx.query.channels ?? '')
        .split(',')
        .map((c) => [c, hub.subscriberCount(c)]),
    ),
    hub: hub.stats,
    live: broker.liveStats,
  })
})

const drainAt = process.argv.indexOf('--drain')
if (drainAt !== -1) {
  // The time of every session end, printed at exit for the drain test to check the pacing.
  const ends: number[] = []
  const hub = app.hub
  const end = hub.disconnectSession.bind(hub)
  hub.disconnectSession = (session, code, reason, delay) => {
    // A session already closed returns early: count each session's end once.
    if (code === 3000 && !session.isClosed) ends.push(Date.now())
    end(session, code, reason, delay)
  }
  // When /readyz first answered 503: readiness as a load balancer saw it.
  let notReady = 0
  app.onResponse((ctx) => {
    if (notReady === 0 && ctx.path === '/readyz' && ctx.res.statusCode === 503)
      notReady = Date.now()
  })
  process.on('exit', () => {
    console.log(`session-ends ${JSON.stringify(ends)}`)
    console.log(`first-503 ${notReady}`)
  })
  app.health()
  closeOnSignals(app, { drain: Number(process.argv[drainAt + 1]), graceful: 1000 })
}

const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
console.log(`ready ${port}`)
