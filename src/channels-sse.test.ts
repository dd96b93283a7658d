import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { test } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { Switchboard } from './index.ts'

// A full GC from inside the test runner, which does not start Node with --expose-gc.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

async function fullGc(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise((r) => setImmediate(r))
  }
}

async function until(check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** Opens a channel stream on a raw socket; `text()` is everything received so far. */
function openStream(port: number, channel: string): { socket: Socket; text: () => string } {
  let text = ''
  const socket = connect(port, '127.0.0.1', () =>
    socket.write(
      `GET /switchboard?channel=${channel} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`,
    ),
  )
  socket.setEncoding('utf8')
  socket.on('data', (d: string) => {
    text += d
  })
  return { socket, text: () => text }
}

test('an open channel stream keeps neither its request, its response nor its context', async () => {
  const app = new Switchboard({ logger: false })
  const refs: WeakRef<object>[] = []
  app.use((ctx, next) => {
    if (ctx.searchParams.has('channel'))
      refs.push(new WeakRef(ctx), new WeakRef(ctx.req), new WeakRef(ctx.res))
    return next()
  })
  app.channels.namespace('news')
  const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
  const client = openStream(port, 'news:today')
  try {
    await until(() => client.text().includes('event: subscribe'), 'the subscribe push')
    assert.equal(refs.length, 3)
    await fullGc()
    const kept = refs.map((r) => r.deref()).filter((x) => x !== undefined)
    assert.deepEqual(
      kept.map((x) => x.constructor.name),
      [],
      'an idle stream session holds only its socket, stream and session',
    )
    // The stream still works without them: a publication reaches it...
    await app.hub.publish('news:today', { headline: 'still here' })
    await until(() => client.text().includes('still here'), 'the publication')
    assert.equal(app.hub.connectionCount, 1)
  } finally {
    client.socket.destroy()
  }
  // ...and its end is still seen: the session closes when the client leaves.
  await until(() => app.hub.connectionCount === 0, 'the session to close')
  await app.close({ graceful: 0 })
})

test('a channel stream ended by the server or by the client closes its session and frees its place under the per-IP limit', async () => {
  const app = new Switchboard({ logger: false })
  app.channels.configure({ limits: { connectionsPerIp: 2, limitLoopback: true } })
  app.channels.namespace('news')
  const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
  const a = openStream(port, 'news:a')
  const b = openStream(port, 'news:b')
  await until(() => a.text().includes('event: subscribe'), 'stream a')
  await until(() => b.text().includes('event: subscribe'), 'stream b')
  assert.equal(app.hub.connectionCount, 2)
  const client = /"client":"([^"]+)"/.exec(a.text())?.[1]
  const session = client === undefined ? undefined : app.hub.getSession(client)
  assert.ok(session !== undefined, 'stream a has a session')
  app.hub.disconnectSession(session, 3000, 'bye')
  await until(() => app.hub.connectionCount === 1, 'the server-ended session to go')
  await until(() => a.socket.readableEnded, 'stream a to end')
  assert.match(a.text(), /event: disconnect/)
  assert.ok(session.isClosed)
  b.socket.destroy()
  await until(() => app.hub.connectionCount === 0, 'the client-ended session to go')
  a.socket.destroy()
  // Both places are free again: two more streams from the same address open.
  const c = openStream(port, 'news:c')
  const d = openStream(port, 'news:d')
  await until(() => c.text().includes('event: subscribe'), 'stream c')
  await until(() => d.text().includes('event: subscribe'), 'stream d')
  const e = openStream(port, 'news:e')
  await until(() => e.text().startsWith('HTTP/1.1 429'), 'a third stream to be refused')
  for (const x of [c, d, e]) x.socket.destroy()
  await app.close({ graceful: 0 })
})
