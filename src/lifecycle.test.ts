import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { WebSocket } from 'ws'
import { type BrokerHealth, MemoryBroker } from './broker/index.ts'
import { Switchboard } from './index.ts'
import {
  announceTime,
  DEFAULT_DRAIN_WINDOW,
  drainWindow,
  MAX_RECONNECT_HINT,
  pace,
  reconnectHint,
} from './lifecycle.ts'
import { waitFor } from './test-utils/wait.ts'

function quiet() {
  return new Switchboard({ logger: false })
}

describe('paced drain', () => {
  test('pace ends every item exactly once, spread over the window', async () => {
    const closed: { i: number; at: number; hint: number }[] = []
    const start = performance.now()
    const items = Array.from({ length: 40 }, (_, i) => ({
      close(hint: number) {
        closed.push({ i, at: performance.now() - start, hint })
      },
    }))
    await pace(items, 1000)
    const took = performance.now() - start
    assert.deepEqual(
      closed.map((c) => c.i),
      items.map((_, i) => i),
    )
    // The first batch goes at once; the last once the window is nearly over.
    assert.ok(closed[0]!.at < 150, `first at ${closed[0]!.at} ms`)
    assert.ok(closed.at(-1)!.at >= 700, `last at ${closed.at(-1)!.at} ms`)
    assert.ok(took >= 700, `took ${took} ms`)
    // Never all at once: no tick ends more than a quarter of them.
    const firstTick = closed.filter((c) => c.at < 100).length
    assert.ok(firstTick <= 10, `${firstTick} in the first tick`)
    for (const c of closed) assert.ok(c.hint >= 0 && c.hint < 100, `hint ${c.hint}`)
  })

  test('pace resolves at once with nothing to end', async () => {
    const t0 = performance.now()
    await pace([], 10_000)
    assert.ok(performance.now() - t0 < 50)
  })

  test('the reconnect hint stays within a tenth of the window and under 2 s', () => {
    assert.equal(
      reconnectHint(5000, () => 0),
      0,
    )
    assert.equal(
      reconnectHint(5000, () => 0.999),
      499,
    )
    assert.equal(
      reconnectHint(60_000, () => 0.999),
      MAX_RECONNECT_HINT - 2,
    )
  })

  test('drain options: true is the default window, false and 0 none, anything else refused', () => {
    assert.equal(drainWindow(true), DEFAULT_DRAIN_WINDOW)
    assert.equal(drainWindow(false), 0)
    assert.equal(drainWindow(undefined), 0)
    assert.equal(drainWindow(2500), 2500)
    for (const bad of [-1, 1.5, Number.NaN]) {
      assert.throws(() => drainWindow(bad), { code: 'SWB_ERR_INVALID_OPTION' })
    }
    assert.equal(announceTime(5000), 500)
    assert.equal(announceTime(60_000), 1000)
  })

  test('close({ drain }) refuses a bad window with a coded error and keeps serving', async () => {
    const app = quiet()
    app.get('/', (ctx) => ctx.text('ok'))
    await assert.rejects(app.close({ drain: -5 }), { code: 'SWB_ERR_INVALID_OPTION' })
    assert.equal((await app.request('/')).status, 200)
  })
})

describe('health endpoints', () => {
  test('/readyz is 503 while starting, 200 once listening, and /livez is always 200', async () => {
    const app = quiet().health()
    let res = await app.request('/readyz')
    assert.equal(res.status, 503)
    assert.equal(((await res.json()) as { state: string }).state, 'starting')
    assert.equal((await app.request('/livez')).status, 200)
    await app.listen({ port: 0, host: '127.0.0.1' })
    try {
      res = await app.request('/readyz')
      assert.equal(res.status, 200)
      assert.equal(res.headers.get('cache-control'), 'no-store')
      assert.deepEqual(await res.json(), { ready: true, state: 'serving', checks: {} })
    } finally {
      await app.close()
    }
  })

  test('a failing readiness check, or a throwing one, makes /readyz 503 with its reason', async () => {
    const app = quiet().health({ ready: '/ready', live: '/live' })
    let ok = false
    app.readinessCheck('db', () => (ok ? { ok: true } : { ok: false, reason: 'no connection' }))
    await app.listen({ port: 0, host: '127.0.0.1' })
    try {
      let res = await app.request('/ready')
      assert.equal(res.status, 503)
      assert.deepEqual(((await res.json()) as { checks: unknown }).checks, {
        db: { ok: false, reason: 'no connection' },
      })
      ok = true
      assert.equal((await app.request('/ready')).status, 200)
      app.readinessCheck('cache', () => {
        throw new Error('boom')
      })
      res = await app.request('/ready')
      assert.equal(res.status, 503)
      assert.deepEqual(((await res.json()) as { checks: Record<string, unknown> }).checks.cache, {
        ok: false,
        reason: 'boom',
      })
    } finally {
      await app.close()
    }
  })

  test('the channel hub makes readiness follow its broker’s health', async () => {
    class SickBroker extends MemoryBroker {
      state: BrokerHealth = { healthy: true, since: Date.now() }
      health(): BrokerHealth {
        return this.state
      }
    }
    const broker = new SickBroker()
    const app = quiet().health()
    app.channels.configure({ broker })
    await app.listen({ port: 0, host: '127.0.0.1' })
    try {
      const until = Date.now() + 2000
      while ((await app.request('/readyz')).status !== 200) {
        assert.ok(Date.now() < until, 'never ready')
        await new Promise((r) => setTimeout(r, 10))
      }
      broker.state = { healthy: false, reason: 'redis down', since: Date.now() }
      const res = await app.request('/readyz')
      assert.equal(res.status, 503)
      assert.deepEqual(((await res.json()) as { checks: unknown }).checks, {
        broker: { ok: false, reason: 'redis down' },
      })
    } finally {
      await app.close()
    }
  })
})

describe('draining an app', () => {
  test('turns readiness off, refuses new sessions with 503, serves HTTP, and disconnects every session with a delay over the window', async () => {
    const app = quiet().health()
    app.get('/plain', (ctx) => ctx.text('still here'))
    app.channels.namespace('feed', {})
    const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
    const url = `ws://127.0.0.1:${port}/switchboard`
    const pushes: { at: number; push: { code: number; delay?: number } }[] = []
    const sockets: WebSocket[] = []
    for (let i = 0; i < 20; i++) {
      const ws = new WebSocket(url, 'switchboard.v1.json')
      ws.on('message', (data) => {
        const push = JSON.parse(String(data))
        if (push.type === 'disconnect') pushes.push({ at: performance.now(), push })
      })
      await new Promise((resolve) => ws.once('open', resolve))
      ws.send(JSON.stringify({ id: 1, type: 'connect' }))
      sockets.push(ws)
    }
    await waitFor(() => app.hub.connectionCount === 20, 2000, 'twenty sessions')
    const t0 = performance.now()
    const closing = app.close({ drain: 1000 })
    // Draining: not ready, no new sessions, HTTP still served.
    const res = await app.request('/readyz')
    assert.equal(res.status, 503)
    assert.equal(((await res.json()) as { state: string }).state, 'draining')
    assert.equal((await app.request('/plain')).status, 200)
    const refused = await fetch(`http://127.0.0.1:${port}/switchboard?channel=feed:a`)
    assert.equal(refused.status, 503)
    const late = new WebSocket(url, 'switchboard.v1.json')
    const status = await new Promise<number>((resolve) =>
      late.once('unexpected-response', (_req, r) => resolve(r.statusCode ?? 0)),
    )
    assert.equal(status, 503)
    await closing
    const took = performance.now() - t0
    assert.equal(pushes.length, 20)
    for (const { push } of pushes) {
      assert.equal(push.code, 3000)
      assert.ok(typeof push.delay === 'number' && push.delay >= 0 && push.delay < 100)
    }
    const first = Math.min(...pushes.map((p) => p.at)) - t0
    const last = Math.max(...pushes.map((p) => p.at)) - t0
    assert.ok(first >= 40, `the first disconnect came ${first} ms after close: before the announce`)
    assert.ok(last - first >= 600, `disconnects spread over only ${last - first} ms`)
    // 100 ms of announce, then nine batches 100 ms apart.
    assert.ok(took >= 850, `close took ${took} ms`)
  })
})

describe('draining plain routes', () => {
  test('plain WebSockets (1001) and SSE streams are ended in paced batches over the window too', async () => {
    const app = quiet()
    app.ws('/ws', { message: () => {} })
    app.sse('/events', () => {})
    const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
    const ended: { kind: string; at: number; code?: number }[] = []
    const opened: Promise<unknown>[] = []
    for (let i = 0; i < 10; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`)
      ws.on('close', (code) => ended.push({ kind: 'ws', at: performance.now(), code }))
      opened.push(new Promise((resolve) => ws.once('open', resolve)))
      const res = fetch(`http://127.0.0.1:${port}/events`).then(async (r) => {
        const reader = r.body!.getReader()
        while (!(await reader.read()).done) {}
        ended.push({ kind: 'sse', at: performance.now() })
      })
      opened.push(res.catch(() => {}))
    }
    await Promise.all(opened.filter((_, i) => i % 2 === 0))
    await new Promise((r) => setTimeout(r, 100))
    const t0 = performance.now()
    await app.close({ drain: 800 })
    await waitFor(() => ended.length === 20, 3000, 'every connection ended')
    for (const e of ended.filter((x) => x.kind === 'ws')) assert.equal(e.code, 1001)
    const times = ended.map((e) => e.at - t0).sort((a, b) => a - b)
    assert.ok(times.at(-1)! - times[0]! >= 400, `ended within ${times.at(-1)! - times[0]!} ms`)
  })
})
