// Peer: Switchboard, run from source. BENCH_KIND picks the server:
//   http: GET / -> ctx.json({ hello: 'world' })
//   sse:  GET /sse opens a stream; POST /pub fans the body out as one prepared event
//   ws:   /ws echoes; POST /pub fans the body out as one prepared message
//   ws-channel / sse-channel: app.channels (protocol v1, JSON) mounted at /ws or /channel;
//         clients subscribe to `bench:all`; POST /pub is app.hub.publish(). With BENCH_REDIS_URL
//         the channels use a RedisBroker on that server (cluster scenarios: several such nodes);
//         with BENCH_DURABLE_DIR a DurableBroker on that directory (durable scenarios; GET
//         /__commits answers how many sync batches it has written). The `bench` namespace keeps
//         100 publications of history either way (the default, spelled out: without history
//         the durable broker has nothing to write). BENCH_METRICS=1 turns Prometheus metrics on
//         (the metrics-fanout scenario), scraped by the peer once a second. POST /pub/<name>
//         publishes to `bench:<name>` (the realistic workload: rooms `r<n>` and `all`).
//         BENCH_WRITE_DELAY=<ms> sets the hub's `writeDelay` (the delayed-write rows).
import { RedisBroker } from '../../src/broker/redis/index.ts'
import { Switchboard } from '../../src/index.ts'
import { prepareEvent, type SseStream } from '../../src/sse/index.ts'
import { prepareMessage, type ServerWebSocket } from '../../src/ws/index.ts'
import { announce, durableDir, gc, kind, redisUrl } from './common.ts'

const metrics = process.env.BENCH_METRICS === '1'
const app = new Switchboard({ logger: false, backlog: 4096, metrics })
if (metrics) {
  // Scraped once a second (Prometheus usually scrapes every 15 s): collection is counted too.
  const scrape = setInterval(() => void app.metrics().text(), 1000)
  scrape.unref()
}

app.get('/__gc', (ctx) => ctx.text(gc()))

if (kind === 'http') {
  app.get('/', (ctx) => ctx.json({ hello: 'world' }))
} else if (kind === 'sse') {
  // Open streams; closed ones are pruned while publishing (no listener per stream).
  const streams = new Set<SseStream>()
  app.sse('/sse', (stream) => {
    streams.add(stream)
  })
  app.post('/pub', async (ctx) => {
    const event = prepareEvent({ data: (await ctx.readBytes()).toString() })
    for (const s of streams) {
      if (s.isClosed) streams.delete(s)
      else s.sendPrepared(event)
    }
    return ctx.text('ok')
  })
} else if (kind === 'ws-channel' || kind === 'sse-channel') {
  // The channels endpoint as an application mounts it: one path serves the WebSocket upgrade and
  // the SSE stream (plain GET with ?channel=); POST /pub publishes through the hub.
  const writeDelay = Number(process.env.BENCH_WRITE_DELAY ?? 0)
  app.channels.configure({
    path: kind === 'ws-channel' ? '/ws' : '/channel',
    writeDelay,
    ...(redisUrl ? { broker: new RedisBroker({ url: redisUrl }) } : null),
    ...(durableDir ? { broker: await durableBroker(durableDir) } : null),
  })
  app.channels.namespace('bench', { historySize: 100 })
  app.post('/pub', async (ctx) => {
    await app.hub.publish('bench:all', (await ctx.readBytes()).toString())
    return ctx.text('ok')
  })
  // The realistic workload: a publication to one room (or `all`), clients subscribe themselves.
  app.post('/pub/:channel', async (ctx) => {
    await app.hub.publish(`bench:${ctx.params.channel}`, (await ctx.readBytes()).toString())
    return ctx.text('ok')
  })
} else {
  // Open connections, kept by the open/close hooks.
  const clients = new Set<ServerWebSocket>()
  app.ws('/ws', {
    open(ws) {
      clients.add(ws)
    },
    message(ws, data, isBinary) {
      ws.send(data, isBinary)
    },
    close(ws) {
      clients.delete(ws)
    },
  })
  app.post('/pub', async (ctx) => {
    const message = prepareMessage(await ctx.readBytes(), false)
    for (const ws of clients) ws.sendPrepared(message)
    return ctx.text('ok')
  })
}

/**
 * A DurableBroker on `dir`, imported only here so the other peers never load its store. Its
 * commits are counted by wrapping classic-level's batch implementation in this process: every
 * batch written with `sync: true` is one commit, and one fsync of LevelDB's log.
 */
async function durableBroker(dir: string) {
  const [{ DurableBroker }, { ClassicLevel }] = await Promise.all([
    import('../../src/broker/durable/index.ts'),
    import('classic-level'),
  ])
  let commits = 0
  const proto = ClassicLevel.prototype as unknown as {
    _batch(ops: unknown, options: { sync?: boolean }): Promise<void>
  }
  const batch = proto._batch
  proto._batch = function (ops, options) {
    if (options?.sync === true) commits++
    return batch.call(this, ops, options)
  }
  app.get('/__commits', (ctx) => ctx.text(String(commits)))
  const delivery = process.env.BENCH_DURABLE_DELIVERY === 'immediate' ? 'immediate' : 'committed'
  return new DurableBroker({ dir, delivery })
}

const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
announce(port)
