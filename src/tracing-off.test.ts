// Without an OpenTelemetry SDK (no tracer provider registered), tracing is the API's no-op:
// nothing is carried with publications and no span is active in handlers.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { trace } from '@opentelemetry/api'
import { Switchboard } from './app.ts'
import { type BrokerPublishOptions, MemoryBroker } from './broker/index.ts'

test('with no OpenTelemetry SDK a publish carries no trace context and handlers see no active span', async () => {
  const seen: (BrokerPublishOptions | undefined)[] = []
  class Watched extends MemoryBroker {
    override publish(channel: string, data: unknown, options?: BrokerPublishOptions) {
      seen.push(options)
      return super.publish(channel, data, options)
    }
  }
  const app = new Switchboard({ logger: false })
  app.channels.configure({ broker: new Watched() })
  let active: unknown = 'unset'
  app.post('/announce', async (ctx) => {
    active = trace.getActiveSpan()
    return ctx.json(await app.hub.publish('news', 1))
  })
  const res = await app.request('/announce', {
    method: 'POST',
    headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
  })
  assert.equal(res.status, 200)
  assert.equal(active, undefined)
  assert.equal(seen.length, 1)
  assert.equal(seen[0]!.trace, undefined)
  await app.close()
})
