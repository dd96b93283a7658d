import assert from 'node:assert/strict'
import type { Socket } from 'node:net'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { HttpError, prepareEvent, type SseStream, Switchboard } from '../../src/index.ts'
import { rawClient } from '../../src/sse/test-utils/stream-support.ts'
import { waitFor as until } from '../../src/test-utils/wait.ts'

/** A raw GET that keeps every byte of the answer (see rawClient). */
function rawGet(port: number, path: string, extra = ''): { socket: Socket; text: () => string } {
  return rawClient(port, `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`)
}

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length

test('route parameters select what each stream carries (/events/:channel)', async () => {
  const app = new Switchboard({ logger: false })
  const channels = new Map<string, Set<SseStream>>([
    ['news', new Set()],
    ['stocks', new Set()],
  ])
  app.sse('/events/:channel', (stream, ctx) => {
    const subs = channels.get(ctx.params.channel!)
    if (subs === undefined) return stream.noContent()
    subs.add(stream)
    stream.closed.then(() => subs.delete(stream))
    stream.send({ event: 'hello', data: ctx.params.channel })
  })
  const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
  const news = rawGet(port, '/events/news')
  const stocks = rawGet(port, '/events/stocks')
  await until(() => channels.get('news')!.size === 1 && channels.get('stocks')!.size === 1)
  const headline = prepareEvent({ event: 'news', data: { title: 'SSE works' } })
  for (const s of channels.get('news')!) s.sendPrepared(headline)
  for (const s of channels.get('stocks')!) s.send({ event: 'price', data: { ACME: 12.5 } })
  await until(() => news.text().includes('event: news') && stocks.text().includes('event: price'))
  assert.ok(news.text().includes('event: hello\ndata: news\n\n'))
  assert.ok(!news.text().includes('price'))
  assert.ok(stocks.text().includes('event: hello\ndata: stocks\n\n'))
  assert.ok(!stocks.text().includes('SSE works'))
  const unknown = await fetch(`http://127.0.0.1:${port}/events/weather`)
  assert.equal(unknown.status, 204)
  await app.close({ graceful: 500 })
  assert.equal(channels.get('news')!.size, 0)
})

test('app.close() ends live streams and stops the shared heartbeat timer', async () => {
  const before = timers()
  const app = new Switchboard({ logger: false })
  const streams: SseStream[] = []
  app.sse('/s', (stream) => {
    streams.push(stream)
  })
  const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
  const clients = [rawGet(port, '/s'), rawGet(port, '/s'), rawGet(port, '/s')]
  await until(() => streams.length === 3)
  assert.ok(timers() >= before + 1)
  await app.close({ graceful: 1000 })
  assert.ok(streams.every((s) => s.isClosed && s.closeReason === 'server'))
  await until(() => clients.every((c) => c.socket.readableEnded || c.socket.destroyed))
  assert.equal(timers(), before)
})

test('ctx.sse() keeps headers set earlier, takes the response over, and is never JSON', async () => {
  const app = new Switchboard({ logger: false })
  app.use(async (ctx, next) => {
    ctx.header('access-control-allow-origin', '*')
    await next()
  })
  app.get('/clock', (ctx) => {
    const stream = ctx.sse({ retry: 1000 })
    stream.send({ data: 'tick' })
    stream.close()
    return stream
  })
  const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
  const res = await fetch(`http://127.0.0.1:${port}/clock`)
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8')
  assert.equal(res.headers.get('cache-control'), 'no-cache, no-transform')
  assert.equal(res.headers.get('x-accel-buffering'), 'no')
  assert.equal(res.headers.get('access-control-allow-origin'), '*')
  assert.equal(res.headers.get('content-encoding'), null)
  assert.equal(await res.text(), 'retry: 1000\n\ndata: tick\n\n')
  await app.close({ graceful: 500 })
})

test('a malformed Last-Event-ID answers 400 with the coded error, a good one reaches the handler', async () => {
  const app = new Switchboard({ logger: false })
  const seen: (string | undefined)[] = []
  app.sse('/s', (stream) => {
    seen.push(stream.lastEventId)
    stream.close()
  })
  const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
  const bad = await fetch(`http://127.0.0.1:${port}/s`, {
    headers: { 'last-event-id': 'x'.repeat(300) },
  })
  assert.equal(bad.status, 400)
  const body = (await bad.json()) as { error: { code: string } }
  assert.equal(body.error.code, 'SWB_ERR_SSE_INVALID_LAST_EVENT_ID')
  await (await fetch(`http://127.0.0.1:${port}/s?lastEventId=17`)).text()
  await (await fetch(`http://127.0.0.1:${port}/s`, { headers: { 'last-event-id': '9' } })).text()
  assert.deepEqual(seen, ['17', '9'])
  await app.close({ graceful: 500 })
})

test('an error thrown before the head is out answers normally; after it, the stream closes', async () => {
  const app = new Switchboard({ logger: false })
  app.sse('/private', () => {
    throw new HttpError(403, 'Members only')
  })
  app.sse('/late', async (stream) => {
    stream.send({ data: 'first' })
    await sleep(30)
    throw new Error('boom')
  })
  const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
  const denied = await fetch(`http://127.0.0.1:${port}/private`)
  assert.equal(denied.status, 403)
  assert.equal(denied.headers.get('content-type')?.startsWith('application/json'), true)
  await denied.text()
  const late = rawGet(port, '/late')
  await until(() => late.socket.readableEnded || late.socket.destroyed)
  assert.ok(late.text().includes('data: first\n\n'))
  await app.close({ graceful: 500 })
})

test('onResponse hooks run when an SSE stream ends, and app.request() gets the stream body', async () => {
  const app = new Switchboard({ logger: false })
  const ended: string[] = []
  app.onResponse((ctx) => {
    ended.push(ctx.path)
  })
  let live: SseStream | undefined
  app.sse('/live', (stream) => {
    live = stream
  })
  app.sse('/once', (stream) => {
    stream.send({ data: 'in-process' })
    stream.close()
  })
  const res = await app.request('/once')
  assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8')
  assert.equal(await res.text(), 'data: in-process\n\n')
  const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
  const client = rawGet(port, '/live')
  await until(() => client.text().includes('\r\n\r\n'))
  await sleep(20)
  client.socket.destroy()
  await live!.closed
  await until(() => ended.includes('/live'))
  await app.close({ graceful: 500 })
})
