// Peer: Switchboard, run from source. BENCH_KIND picks the server:
//   http: GET / -> ctx.json({ hello: 'world' })
//   sse:  GET /sse opens a stream; POST /pub fans the body out as one prepared event
//   ws:   /ws echoes; POST /pub fans the body out as one prepared message
// Whatever part of the API does not exist yet makes the peer report UNAVAILABLE with the reason.
import { Switchboard } from '../../src/index.ts'
import { createSseStream, prepareEvent, type SseStream } from '../../src/sse/index.ts'
import { prepareMessage, type ServerWebSocket, type WsBehaviour } from '../../src/ws/index.ts'
import { announce, gc, kind, unavailable } from './common.ts'

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
  app.get('/sse', (ctx) => {
    ctx.takeover()
    streams.add(createSseStream(ctx.req, ctx.res))
  })
  app.post('/pub', async (ctx) => {
    const event = prepareEvent({ data: (await ctx.readBytes()).toString() })
    for (const s of streams) {
      if (s.isClosed) streams.delete(s)
      else s.sendPrepared(event)
    }
    return ctx.text('ok')
  })
} else {
  // Typed loosely so this peer compiles before and after app.ws() lands.
  const surface = app as unknown as {
    ws?: (path: string, behaviour: WsBehaviour<undefined, unknown>) => unknown
  }
  if (typeof surface.ws !== 'function')
    unavailable('app.ws() does not exist yet (src/ws is not wired into the app)')
  // Open connections, kept by the open/close hooks.
  const clients = new Set<ServerWebSocket>()
  surface.ws('/ws', {
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
