// End-to-end over real sockets: the hub wired to the ws and HTTP layers the way app.ts will wire
// it (this file is the reference for that wiring), with a `ws` client, a raw SSE reader and POST.
import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { test } from 'node:test'
import { EventSource } from 'eventsource'
import WebSocket from 'ws'
import { Switchboard } from '../app.ts'
import { SwitchboardClient } from '../client/index.ts'
import {
  JSON_SUBPROTOCOL,
  MSGPACK_SUBPROTOCOL,
  msgpackCodec,
  type PublicationPush,
  readServerMessage,
  type ServerMessage,
} from '../protocol/index.ts'
import { until } from '../test-utils/wait.ts'
import { prepareMessage } from '../ws/index.ts'
import { Hub } from './hub.ts'
import type { Session } from './session.ts'
import { SseTransport } from './sse-transport.ts'
import { defineWireFormat, wsJsonFormat } from './transport.ts'
import { SUBPROTOCOLS, WsTransport, wireFormatFor } from './ws-transport.ts'

function serve(hub: Hub): Switchboard {
  const app = new Switchboard({ logger: false })
  // Pre-framed WebSocket frames: the framing, too, is done once per publication.
  const formats = {
    json: defineWireFormat({ name: 'ws-json', codec: wsJsonFormat.codec, native: prepareMessage }),
    msgpack: defineWireFormat({ name: 'ws-msgpack', codec: msgpackCodec, native: prepareMessage }),
  }
  app.ws<Session | null>('/switchboard/ws', {
    subprotocols: [...SUBPROTOCOLS],
    upgrade: () => null,
    open(ws) {
      ws.data = hub.connect(new WsTransport(ws, wireFormatFor(ws.protocol, formats)!))
    },
    message(ws, data) {
      ws.data?.receive(data)
    },
    drain(ws) {
      ws.data?.drain()
    },
    close(ws) {
      ws.data?.closed()
    },
  })
  app.get('/switchboard/stream', async (ctx) => {
    const channels = ctx.searchParams.getAll('channel')
    const lastEventId =
      (ctx.headers['last-event-id'] as string | undefined) ?? ctx.query.lastEventId
    const session = await hub.openStream(
      { channels, ticket: ctx.query.ticket, lastEventId },
      () => {
        const res = ctx.takeover()
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
        return new SseTransport(
          { write: (text) => res.write(text), close: () => res.end() },
          channels,
        )
      },
    )
    ctx.req.on('close', () => session.closed())
  })
  app.post('/switchboard/command', async (ctx) => {
    const auth = ctx.headers.authorization
    const token = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : undefined
    const { status, body } = await hub.httpCommand(await ctx.readJson(), {
      token,
      ticket: ctx.query.ticket,
    })
    return ctx.status(status).json(body)
  })
  return app
}

async function wsClient(
  url: string,
  protocol: string,
): Promise<{ ws: WebSocket; inbox: ServerMessage[] }> {
  const ws = new WebSocket(url, protocol)
  const inbox: ServerMessage[] = []
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    // Publications arrive in their compact array form; read them back into objects.
    inbox.push(
      readServerMessage(isBinary ? msgpackCodec.decode(data) : JSON.parse(data.toString()))!,
    )
  })
  await new Promise((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
  })
  return { ws, inbox }
}

function send(ws: WebSocket, command: Record<string, unknown>): void {
  if (ws.protocol === MSGPACK_SUBPROTOCOL) ws.send(msgpackCodec.encode(command as never))
  else ws.send(JSON.stringify(command))
}

test('one publication reaches a WebSocket JSON, a WebSocket MessagePack and an SSE subscriber with the same offset and payload', async () => {
  const hub = new Hub({ namespaces: { chat: { clientPublish: true } } })
  const app = serve(hub)
  const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `127.0.0.1:${port}`
  const sockets: WebSocket[] = []
  let sseReq: ReturnType<typeof httpRequest> | null = null
  try {
    const a = await wsClient(`ws://${base}/switchboard/ws`, JSON_SUBPROTOCOL)
    const b = await wsClient(`ws://${base}/switchboard/ws`, MSGPACK_SUBPROTOCOL)
    sockets.push(a.ws, b.ws)
    assert.equal(b.ws.protocol, MSGPACK_SUBPROTOCOL)
    for (const c of [a, b]) {
      send(c.ws, { id: 1, type: 'connect' })
      send(c.ws, { id: 2, type: 'subscribe', channel: 'chat:room' })
      await until(() => c.inbox.some((m) => (m as { id?: number }).id === 2), 'subscribe reply')
    }
    let sseText = ''
    await new Promise<void>((resolve, reject) => {
      sseReq = httpRequest(
        `http://${base}/switchboard/stream?channel=chat:room&ticket=${encodeURIComponent(hub.issueTicket({ user: 'viewer' }, { channels: ['chat:room'] }))}`,
        (res) => {
          assert.equal(res.statusCode, 200)
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => {
            sseText += chunk
          })
          resolve()
        },
      )
      sseReq.on('error', reject)
      sseReq.end()
    })
    await until(() => sseText.includes('event: subscribe'), 'SSE subscribe event')
    const post = await fetch(`http://${base}/switchboard/command`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 5,
        type: 'publish',
        channel: 'chat:room',
        data: { text: 'hello' },
      }),
    })
    assert.equal(post.status, 200)
    const { result } = (await post.json()) as { result: { offset: number; epoch: string } }
    const pubOf = (inbox: ServerMessage[]) =>
      inbox.find((m) => (m as PublicationPush).type === 'publication') as
        | PublicationPush
        | undefined
    await until(
      () =>
        pubOf(a.inbox) !== undefined &&
        pubOf(b.inbox) !== undefined &&
        sseText.includes('event: publication'),
      'publications',
    )
    const sseEvent = sseText.split('\n\n').find((e) => e.includes('event: publication'))!
    const sse = JSON.parse(sseEvent.split('data: ')[1]!) as PublicationPush
    for (const p of [pubOf(a.inbox)!, pubOf(b.inbox)!, sse]) {
      assert.deepEqual(
        [p.offset, p.epoch, p.data],
        [result.offset, result.epoch, { text: 'hello' }],
      )
    }
    assert.match(sseEvent, /^id: 1,0\.1\./)
    const refused = await fetch(`http://${base}/switchboard/stream?channel=nope:x`)
    assert.equal(refused.status, 404)
    await refused.body?.cancel()
  } finally {
    for (const s of sockets) s.terminate()
    ;(sseReq as ReturnType<typeof httpRequest> | null)?.destroy()
    await hub.close()
    await app.close({ graceful: 200 })
  }
})

test('a hub disconnect closes the WebSocket with the same code after the disconnect push', async () => {
  const hub = new Hub()
  const app = serve(hub)
  const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
  try {
    const c = await wsClient(`ws://127.0.0.1:${port}/switchboard/ws`, JSON_SUBPROTOCOL)
    send(c.ws, { id: 1, type: 'connect' })
    await until(() => c.inbox.length > 0, 'connect reply')
    const closed = new Promise<number>((resolve) =>
      c.ws.once('close', (code: number) => resolve(code)),
    )
    const client = (c.inbox[0] as { result: { client: string } }).result.client
    await hub.disconnect(hub.getSession(client)!, 3502, 'bye')
    assert.equal(await closed, 3502)
    assert.deepEqual(c.inbox.at(-1), {
      type: 'disconnect',
      code: 3502,
      reason: 'bye',
      reconnect: false,
    })
  } finally {
    await hub.close()
    await app.close({ graceful: 200 })
  }
})

for (const transport of ['websocket', 'sse'] as const) {
  test(`the client SDK over ${transport} receives, is dropped by the server, and recovers every missed publication once`, async () => {
    const hub = new Hub({
      auth: ({ token }) => ({ user: token ?? '' }),
      namespaces: { chat: { clientPublish: true } },
    })
    const app = serve(hub)
    const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
    const channel = `chat:sdk-${transport}`
    const got: unknown[] = []
    const client = new SwitchboardClient({
      url: `ws://127.0.0.1:${port}/switchboard/ws`,
      sseUrl: `http://127.0.0.1:${port}/switchboard/stream`,
      postUrl: `http://127.0.0.1:${port}/switchboard/command`,
      transport,
      token: 'ann',
      WebSocket: WebSocket as never,
      EventSource: EventSource as never,
      streamTicket: (channels) => hub.issueTicket({ user: 'ann' }, { channels }),
      minReconnectDelay: 20,
      maxReconnectDelay: 50,
    })
    try {
      client.subscribe(channel, { onPublication: (p) => got.push(p.data) })
      client.connect()
      await until(() => hub.subscriberCount(channel) === 1, 'the subscription')
      await client.publish(channel, 'from client')
      await hub.publish(channel, 'from server')
      await until(() => got.length === 2, 'live publications')
      await hub.disconnect('ann', 3003, 'test drop')
      await until(() => hub.subscriberCount(channel) === 0, 'the drop')
      await hub.publish(channel, 'missed 1')
      await hub.publish(channel, 'missed 2')
      await until(() => hub.subscriberCount(channel) === 1, 'the resubscribe')
      await hub.publish(channel, 'after')
      await until(() => got.length === 5, 'recovered and live publications')
      assert.deepEqual(got, ['from client', 'from server', 'missed 1', 'missed 2', 'after'])
    } finally {
      client.disconnect()
      await hub.close()
      await app.close({ graceful: 200 })
    }
  })
}
