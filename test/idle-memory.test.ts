// Guards what an idle channel session keeps (issue #18, "Idle memory"). bench/session-heap.ts
// runs a server in a child process started with --expose-gc, opens 300 sessions from a second
// process (connect + subscribe over a WebSocket, or a channel SSE stream), and compares two heap
// snapshots: the objects each idle session added, by constructor, and their bytes. Counts and
// shallow bytes of JavaScript values repeat from run to run (the heap in use does not: compiled
// code and Node's parser pool move it by hundreds of bytes), so the bounds can be tight.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SESSIONS = 300

interface Measured {
  kind: string
  connections: number
  heapBytesPerConnection: number
  /** Shallow bytes of the JavaScript values each session added. */
  objectBytesPerConnection: number
  /** Objects (and `(closure) name`s) each session added, by constructor. */
  objects: Record<string, number>
}

function measure(kind: 'ws' | 'ws-channel' | 'sse-channel'): Promise<Measured> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [
        '--expose-gc',
        '--import',
        'tsx',
        'bench/session-heap.ts',
        kind,
        String(SESSIONS),
        '--json',
        '--snapshot',
      ],
      { cwd: ROOT, timeout: 110_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${kind}: ${err.message}\n${stderr}`))
        else resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as Measured)
      },
    )
  })
}

const per = (m: Measured, name: string) => m.objects[name] ?? 0

// Measured at once (each is a few seconds of mostly waiting), shared by the tests below. The bare
// WebSocket (`app.ws`) is the baseline of what Node itself keeps per socket: on Node 24 a socket's
// WritableState.onwrite is a closure with its own context (on Node 20 a bound function).
const measured = Promise.all([measure('ws-channel'), measure('sse-channel'), measure('ws')])

/** What no idle channel session may keep, whatever its transport. */
function assertLean(m: Measured, bare: Measured): void {
  assert.equal(m.connections, SESSIONS)
  // Exactly one of each of the hub's own objects...
  for (const name of ['Session', 'Subscription', 'SubscriptionMap', 'Socket']) {
    assert.equal(per(m, name), 1, `${m.kind}: ${name} per session`)
  }
  // ...and none of what an idle session used to keep: the request it opened with, a Map per
  // session (subscriptions, SSE cursors), an outbox, promises, closures and their scopes.
  for (const name of [
    'Context',
    'IncomingMessage',
    'ServerResponse',
    'URLSearchParams',
    'Map',
    'Outbox',
    'Promise',
    'AbortController',
    'system / Context',
    '(closure) ',
  ]) {
    const node = per(bare, name) // what Node keeps per socket anyway
    assert.ok(
      per(m, name) < node + 0.05,
      `${m.kind}: ${per(m, name)} ${name} per idle session (a bare socket: ${node})`,
    )
  }
  // Node's own WritableState.onwrite is the one bound function a socket has.
  assert.ok(per(m, '(closure) native_bind') <= 1, `${m.kind}: bound functions per session`)
}

test('an idle WebSocket channel session keeps one of each hub object and no Map, outbox, promise or closure', async () => {
  const [ws, , bare] = await measured
  assertLean(ws, bare)
  assert.equal(per(ws, 'ServerWebSocket'), 1)
  // 2,035-2,096 B when written (Node's pooled HTTP parsers move it by some 60 B); 2,294-2,323
  // before issue #18 (an outbox, a Map of subscriptions, clientInfo). The counts above are the
  // sharper guard here.
  assert.ok(
    ws.objectBytesPerConnection <= 2250,
    `${ws.objectBytesPerConnection} B of JavaScript values per idle WebSocket session`,
  )
})

test('an idle SSE channel session keeps no more than a WebSocket one, and not its request', async () => {
  const [ws, sse, bare] = await measured
  assertLean(sse, bare)
  assert.equal(per(sse, 'SseStream'), 1)
  assert.equal(per(sse, 'StreamSink'), 1)
  // 2,059-2,094 B when written; 7,451-7,461 before, when the stream kept its request alive.
  assert.ok(
    sse.objectBytesPerConnection <= 2250,
    `${sse.objectBytesPerConnection} B of JavaScript values per idle SSE session`,
  )
  assert.ok(
    sse.objectBytesPerConnection <= ws.objectBytesPerConnection + 100,
    `SSE ${sse.objectBytesPerConnection} B against WebSocket ${ws.objectBytesPerConnection} B per session`,
  )
})
