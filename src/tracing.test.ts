// With an OpenTelemetry SDK registered (test-only dependencies: the in-memory exporter), the
// spans of one publication, from the HTTP request to every node's fan-out, share one trace.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { context, propagation, SpanKind, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { Switchboard } from './app.ts'
import { MemoryBroker, MemoryCluster } from './broker/index.ts'
import { decodeTopicMessage, entryPublication, packBody } from './broker/redis/codec.ts'
import { Hub } from './hub/hub.ts'
import { TestClient, turn } from './hub/test-utils/test-client.ts'

const exporter = new InMemorySpanExporter()
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
trace.setGlobalTracerProvider(provider)
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
propagation.setGlobalPropagator(new W3CTraceContextPropagator())
after(() => provider.shutdown())

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const traceparent = `00-${TRACE}-00f067aa0ba902b7-01`

function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId
}

function one(spans: ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((s) => s.name === name)
  assert.equal(found.length, 1, `one ${name} span in ${spans.map((s) => s.name).join(', ')}`)
  return found[0]!
}

test('one publication from an HTTP request to the fan-out of two nodes is one trace: request, publish, broker, fan-out', async () => {
  exporter.reset()
  const cluster = new MemoryCluster()
  const app = new Switchboard({ logger: false })
  app.channels.configure({ broker: new MemoryBroker({ cluster }) })
  app.post('/announce', async (ctx) =>
    ctx.json(await app.hub.publish('news', await ctx.readJson())),
  )
  const other = new Hub({ broker: new MemoryBroker({ cluster }) })
  const { url } = await app.listen({ port: 0 })
  try {
    const here = await TestClient.connect(app.hub)
    const there = await TestClient.connect(other)
    await here.request({ type: 'subscribe', channel: 'news' })
    await there.request({ type: 'subscribe', channel: 'news' })
    exporter.reset()
    const res = await fetch(`${url}/announce`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent },
      body: JSON.stringify({ text: 'hello' }),
    })
    assert.equal(res.status, 200)
    await turn()
    for (const c of [here, there]) {
      const pushes = c.pushes('publication')
      assert.equal(pushes.length, 1)
      assert.equal('trace' in pushes[0]!, false, 'clients never get the trace context')
    }

    const spans = exporter.getFinishedSpans()
    assert.deepEqual(new Set(spans.map((s) => s.spanContext().traceId)), new Set([TRACE]))
    const http = one(spans, 'POST /announce')
    const publish = one(spans, 'switchboard publish')
    const broker = one(spans, 'switchboard broker publish')
    const fanouts = spans.filter((s) => s.name === 'switchboard fan-out')
    assert.equal(fanouts.length, 2, 'one fan-out span per node')
    assert.equal(http.kind, SpanKind.SERVER)
    assert.equal(parentOf(http), '00f067aa0ba902b7', 'the request continues the caller’s trace')
    assert.equal(http.attributes['http.route'], '/announce')
    assert.equal(http.attributes['http.response.status_code'], 200)
    assert.equal(parentOf(publish), http.spanContext().spanId)
    assert.equal(publish.kind, SpanKind.PRODUCER)
    assert.equal(parentOf(broker), publish.spanContext().spanId)
    assert.equal(broker.attributes['switchboard.offset'], 1)
    for (const f of fanouts) {
      assert.equal(parentOf(f), broker.spanContext().spanId)
      assert.equal(f.kind, SpanKind.CONSUMER)
      assert.equal(f.attributes['messaging.destination.name'], 'news')
      assert.equal(f.attributes['switchboard.subscribers'], 1)
    }
    const history = await other.history('news', { limit: 10 })
    assert.equal(
      'trace' in history.publications[0]!,
      false,
      'history never keeps the trace context',
    )
  } finally {
    await other.close()
    await app.close()
  }
})

test('an rpc over HTTP POST is a span inside the request’s span', async () => {
  const app = new Switchboard({ logger: false })
  app.channels.rpc('echo', (data) => data)
  const { url } = await app.listen({ port: 0 })
  try {
    exporter.reset()
    const res = await fetch(`${url}/switchboard`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 1, type: 'rpc', method: 'echo', data: 7 }),
    })
    assert.deepEqual(await res.json(), { id: 1, result: { data: 7 } })
    const spans = exporter.getFinishedSpans()
    const http = one(spans, 'POST /switchboard')
    const rpc = one(spans, 'switchboard rpc echo')
    assert.equal(parentOf(rpc), http.spanContext().spanId)
    assert.equal(rpc.attributes['rpc.method'], 'echo')
  } finally {
    await app.close()
  }
})

test('over Redis the trace context travels in the publication’s body to other nodes, and stays out of history', () => {
  const carrier = { traceparent }
  const body = packBody({ text: 'hi' }, undefined, undefined, carrier)
  const message = Buffer.concat([Buffer.from('pe1\n3\n1700000000000\n'), body])
  const live = decodeTopicMessage(message, () => true)
  assert.equal(live.kind, 'publication')
  if (live.kind !== 'publication') return
  assert.deepEqual((live.publication as { trace?: unknown }).trace, carrier)
  const stored = entryPublication(['3-1700000000000', ['b', body]])
  assert.equal('trace' in stored, false)
  assert.deepEqual(stored.data, { text: 'hi' })
})
