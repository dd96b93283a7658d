// Peer: Switchboard, run from source. BENCH_KIND picks the server:
//   http: GET / -> ctx.json({ hello: 'world' })
//   sse:  GET /sse opens a stream; POST /pub fans the body out as one prepared event
//   ws:   /ws echoes; POST /pub fans the body out as one prepared message
//   ws-channel / sse-channel: the channels hub (protocol v1, JSON); clients subscribe to
//         `bench:all` over /ws or GET /channel?channel=bench:all; POST /pub is hub.publish()
import {
  Hub,
  type Session,
  type SseSinkLike,
  SseTransport,
  WsTransport,
  wsJsonFormat,
} from '../../src/hub/index.ts'
import { Switchboard } from '../../src/index.ts'
import { type PreparedEvent, prepareEvent, type SseStream } from '../../src/sse/index.ts'
import { prepareMessage, type ServerWebSocket } from '../../src/ws/index.ts'
import { announce, gc, kind } from './common.ts'

const app = new Switchboard({ logger: false, backlog: 4096 })

app.get('/__gc', (ctx) => {
  gc()
  return ctx.text('ok')
})

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
  // The hub is not wired into the app yet (no app.channels); this is the wiring its doc
  // comments show: a WsTransport per WebSocket, an SseTransport per channel stream.
  const hub = new Hub({ namespaces: { bench: {} } })
  app.post('/pub', async (ctx) => {
    await hub.publish('bench:all', (await ctx.readBytes()).toString())
    return ctx.text('ok')
  })
  if (kind === 'ws-channel') {
    const sessions = new Map<ServerWebSocket, Session>()
    app.ws('/ws', {
      open(ws) {
        sessions.set(ws, hub.connect(new WsTransport(ws, wsJsonFormat)))
      },
      message(ws, data) {
        sessions.get(ws)?.receive(data)
      },
      drain(ws) {
        sessions.get(ws)?.drain()
      },
      close(ws) {
        sessions.get(ws)?.closed()
        sessions.delete(ws)
      },
    })
  } else {
    app.sse('/channel', async (stream, ctx) => {
      // SseTransport writes finished event-stream text; hand it to the stream as is.
      const sink: SseSinkLike = {
        write: (text) => stream.sendPrepared({ bytes: Buffer.from(text) } as PreparedEvent),
        close: () => stream.close(),
      }
      const channels = ctx.searchParams.getAll('channel')
      const session = await hub.openStream({ channels }, () => new SseTransport(sink, channels))
      void stream.closed.then(() => session.closed())
    })
  }
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

const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
announce(port)
