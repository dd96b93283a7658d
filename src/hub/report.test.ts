import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { pino } from 'pino'
import { Switchboard } from '../app.ts'
import { TestClient, turn } from './test-utils/test-client.ts'

/** An app whose pino logger writes JSON lines into `lines`, at `level`. */
function loggedApp(level: string) {
  const lines: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l !== '') lines.push(JSON.parse(l))
      done()
    },
  })
  const app = new Switchboard({ logger: pino({ level }, sink) })
  return { app, lines }
}

test('a throwing rpc handler and a throwing canPublish are logged at error with session, user, channel and code', async () => {
  const { app, lines } = loggedApp('info')
  app.channels.namespace('chat', {
    clientPublish: true,
    canPublish: () => {
      throw new Error('hook bug')
    },
  })
  app.channels.rpc('boom', () => {
    throw new Error('handler bug')
  })
  const c = await TestClient.connect(app.hub)
  assert.equal((await c.request({ type: 'rpc', method: 'boom' })).error?.code, 'SWB_ERR_RPC_FAILED')
  const pub = await c.request({ type: 'publish', channel: 'chat:a', data: 1 })
  assert.equal(pub.error?.code, 'SWB_ERR_HUB_INTERNAL')
  await turn()
  const errors = lines.filter((l) => l.level === 50)
  assert.equal(errors.length, 2)
  const [rpc, hook] = errors as [Record<string, unknown>, Record<string, unknown>]
  assert.equal(rpc.code, 'SWB_ERR_RPC_FAILED')
  assert.equal(rpc.session, c.session.id)
  assert.equal(rpc.user, '')
  assert.equal(rpc.op, 'rpc')
  assert.match(JSON.stringify(rpc.err), /handler bug/)
  assert.equal(hook.code, 'SWB_ERR_HUB_INTERNAL')
  assert.equal(hook.channel, 'chat:a')
  assert.equal(hook.op, 'publish')
  assert.match(JSON.stringify(hook.err), /hook bug/)
  await app.close()
})

test('refusals answered to the client are logged at debug only, so info stays quiet in normal operation', async () => {
  const quiet = loggedApp('info')
  const verbose = loggedApp('debug')
  for (const { app } of [quiet, verbose]) {
    app.channels.namespace('chat', {
      clientPublish: true,
      canSubscribe: ({ channel }) => channel !== 'chat:secret',
    })
    const c = await TestClient.connect(app.hub)
    await c.request({ type: 'subscribe', channel: 'chat:a' })
    await c.request({ type: 'publish', channel: 'chat:a', data: 1 })
    await app.hub.publish('chat:a', 2)
    const refused = await c.request({ type: 'subscribe', channel: 'chat:secret' })
    assert.equal(refused.error?.code, 'SWB_ERR_CHANNEL_FORBIDDEN')
    c.session.closed()
    await turn()
    await app.close()
  }
  assert.deepEqual(quiet.lines, [], 'nothing at info or above')
  const debug = verbose.lines.filter((l) => l.level === 20)
  assert.equal(debug.length, 1)
  assert.equal(debug[0]!.code, 'SWB_ERR_CHANNEL_FORBIDDEN')
  assert.equal(debug[0]!.channel, 'chat:secret')
})
