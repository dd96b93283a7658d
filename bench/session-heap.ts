// Where an idle session's heap goes: the V8 heap each idle connection keeps after a full GC,
// with the server in this process and the clients (raw sockets) in a child, so the readings are
// the server's alone. With --snapshot, two heap snapshots (before and after connecting) are
// compared and the new objects are summed by constructor: count and bytes per session.
//
//   node --expose-gc --import tsx bench/session-heap.ts <kind> [connections=2000] [--snapshot]
//     [--owners] [--json]
//
// --burst also prints the RSS 2 s after the last open, with V8's new and old spaces, before and
// after one full GC;
// --owners groups the new objects by what holds them (two levels up) instead of by constructor;
// --json prints one line `{ kind, connections, heapBytesPerConnection }` (the suite's guard,
// test/idle-memory.test.ts, reads it). A first round of connections, closed again, runs before
// the baseline so that code compiled for the first connections is not counted.
//
// kind: ws | sse (bare app.ws / app.sse), ws-channel | sse-channel (app.channels, subscribed to
// one channel), node-sse (plain node:http, a Set of responses: the floor for an SSE stream).
import { fork } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8'
import { Switchboard } from '../src/index.ts'
import { SseClient } from './gen/sse-client.ts'
import { WsClient } from './gen/ws-client.ts'

const KINDS = ['ws', 'sse', 'ws-channel', 'sse-channel', 'node-sse'] as const
type Kind = (typeof KINDS)[number]
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** RSS over `rssBefore` per connection, and the size / use of V8's new and old spaces (MB). */
function spaces(rssBefore: number, count: number): string {
  const mb = (n: number) => (n / 2 ** 20).toFixed(1)
  const rss = Math.round((process.memoryUsage().rss - rssBefore) / count)
  const parts = getHeapSpaceStatistics()
    .filter((x) => x.space_name === 'new_space' || x.space_name === 'old_space')
    .map((x) => `${x.space_name} ${mb(x.space_size)} MB (${mb(x.space_used_size)} in use)`)
  return `RSS +${rss} B per connection; ${parts.join(', ')}`
}

if (process.argv[2] === 'clients') {
  // The client process: opens `{ open: n }` connections and answers 'open'; `{ close: true }`
  // destroys them all and answers 'closed'.
  const [kind, port] = [process.argv[3] as Kind, Number(process.argv[4])]
  let opened = 0
  let closing = false
  let waiting: (() => void) | null = null
  const sink = {
    delivered: 0,
    wantPayload: false,
    onOpen() {
      opened++
      waiting?.()
    },
    onMessage() {},
    onClose(_c: unknown, reason: string) {
      if (closing) return
      console.error(`client closed: ${reason}`)
      process.exit(1)
    },
    onData() {},
  }
  let conns: (WsClient | SseClient)[] = []
  const make = () => {
    if (kind === 'ws') return new WsClient(port, '/ws', 'ws', sink)
    if (kind === 'ws-channel') return new WsClient(port, '/ws', 'channel', sink)
    if (kind === 'sse-channel') return new SseClient(port, '/channel?channel=bench:all', sink, true)
    return new SseClient(port, '/sse', sink)
  }
  process.on('message', async (m: { open?: number; close?: boolean }) => {
    if (m.close) {
      closing = true
      for (const c of conns) c.destroy()
      conns = []
      opened = 0
      closing = false
      process.send?.('closed')
      return
    }
    const count = m.open ?? 0
    for (let i = 0; i < count; i += 100) {
      const end = Math.min(count, i + 100)
      while (conns.length < end) conns.push(make())
      while (opened < end) await new Promise<void>((r) => (waiting = r))
    }
    process.send?.('open')
  })
  process.on('disconnect', () => process.exit(0))
} else {
  const kind = process.argv[2] as Kind
  if (!KINDS.includes(kind)) throw new Error(`kind must be one of ${KINDS.join(', ')}`)
  const count = Number(process.argv[3] ?? 2000)
  const json = process.argv.includes('--json')
  const owners = process.argv.includes('--owners')
  const burst = process.argv.includes('--burst')
  const snapshot = owners || process.argv.includes('--snapshot')
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run with --expose-gc')

  async function start(): Promise<{ port: number; close: () => Promise<void> }> {
    if (kind === 'node-sse') {
      const streams = new Set<ServerResponse>()
      const server = createServer((req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
        res.flushHeaders()
        streams.add(res)
        req.on('close', () => streams.delete(res))
      })
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      const { port } = server.address() as AddressInfo
      return { port, close: () => new Promise<void>((r) => server.close(() => r())) }
    }
    const app = new Switchboard({ logger: false, backlog: 4096 })
    if (kind === 'ws') app.ws('/ws', { message() {} })
    else if (kind === 'sse') app.sse('/sse', () => {})
    else {
      app.channels.configure({ path: kind === 'ws-channel' ? '/ws' : '/channel' })
      app.channels.namespace('bench', { historySize: 100 })
    }
    const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
    return { port, close: () => app.close({ graceful: 0 }) }
  }

  /** Full GCs until the heap stops shrinking (weak callbacks and finalizers need a second one). */
  async function settle(): Promise<number> {
    let used = Number.POSITIVE_INFINITY
    for (let i = 0; i < 6; i++) {
      gc!()
      await sleep(50)
      const now = process.memoryUsage().heapUsed
      if (now >= used - 1024) return now
      used = now
    }
    return used
  }

  interface Node {
    type: string
    name: string
    size: number
    /** The first new object that points to this one, and the edge's name. */
    owner: Node | null
    edge: string
  }

  /** "Owner.edge <- Owner's owner.edge": where a new object hangs, two levels up. */
  function ownerPath(n: Node): string {
    const o = n.owner
    if (o === null) return ''
    const up = o.owner === null ? '' : ` <- ${o.owner.name}.${o.edge}`
    return `${o.name}.${n.edge}${up}`
  }

  /** Objects of a heap snapshot by id; with `fresh`, each object's owner among the fresh ones. */
  function readSnapshot(file: string, old: Map<number, Node> | null = null): Map<number, Node> {
    const snap = JSON.parse(readFileSync(file, 'utf8'))
    rmSync(file)
    const fields: string[] = snap.snapshot.meta.node_fields
    const types: string[] = snap.snapshot.meta.node_types[0]
    const efields: string[] = snap.snapshot.meta.edge_fields
    const etypes: string[] = snap.snapshot.meta.edge_types[0]
    const [T, N, I, S, E] = ['type', 'name', 'id', 'self_size', 'edge_count'].map((f) =>
      fields.indexOf(f),
    ) as [number, number, number, number, number]
    const out = new Map<number, Node>()
    const nodes: number[] = snap.nodes
    const edges: number[] = snap.edges
    const strings: string[] = snap.strings
    const byIndex: Node[] = []
    const label = (i: number) => {
      const type = types[nodes[i + T]!]!
      return type === 'object' || type === 'closure' || type === 'native' || type === 'code'
        ? (strings[nodes[i + N]!] ?? '')
        : type
    }
    for (let i = 0; i < nodes.length; i += fields.length) {
      const type = types[nodes[i + T]!]!
      const n: Node = { type, name: label(i), size: nodes[i + S]!, owner: null, edge: '' }
      out.set(nodes[i + I]!, n)
      byIndex[i / fields.length] = n
    }
    if (old !== null) {
      let e = 0
      for (let i = 0; i < nodes.length; i += fields.length) {
        const from = byIndex[i / fields.length]!
        const fresh = !old.has(nodes[i + I]!)
        for (let k = 0; k < nodes[i + E]!; k++, e += efields.length) {
          if (!fresh) continue
          const etype = etypes[edges[e]!]!
          if (etype === 'weak' || etype === 'shortcut') continue
          const to = byIndex[edges[e + 2]! / fields.length]!
          if (to.owner !== null) continue
          to.owner = from
          to.edge =
            etype === 'element' || etype === 'hidden' ? `[${etype}]` : strings[edges[e + 1]!]!
        }
      }
    }
    return out
  }

  const server = await start()
  const clients = fork(new URL(import.meta.url).pathname, ['clients', kind, String(server.port)], {
    execArgv: ['--import', 'tsx'],
  })
  clients.once('exit', (code) => {
    console.error(`the client process exited (${code})`)
    process.exit(1)
  })
  /** Asks the client process to open `n` connections (or close them all) and waits for it. */
  const ask = (m: { open?: number; close?: boolean }) =>
    new Promise<void>((resolve) => {
      clients.once('message', () => resolve())
      clients.send(m)
    })
  const dir = tmpdir()
  // A first round, closed again, so code compiled for the first connections is not counted.
  await ask({ open: Math.min(count, 500) })
  await ask({ close: true })
  await sleep(300)
  const before = await settle()
  // Both snapshots are written before either is read: reading one makes objects of its own.
  const fileA = snapshot
    ? writeHeapSnapshot(join(dir, `session-heap-a-${process.pid}.heapsnapshot`))
    : null
  const rssBefore = process.memoryUsage().rss
  await ask({ open: count })
  if (burst) {
    // As the benchmark's "2 s" column: 2 s after the last open, one full GC, then RSS.
    await sleep(2000)
    // What the 2 s reading is made of, before the GC: the young generation V8 grew during the
    // burst, and the garbage in the old space that only a full GC frees.
    console.log(`${kind}: 2 s after the last open, before any GC: ${spaces(rssBefore, count)}`)
    gc()
    console.log(`${kind}: after one full GC: ${spaces(rssBefore, count)}`)
    const newSpace = getHeapSpaceStatistics().find((x) => x.space_name === 'new_space')!
    console.log(
      `${kind}: 2 s after the last open, after one GC: RSS +${Math.round((process.memoryUsage().rss - rssBefore) / count)} B per connection; new space ${(newSpace.space_size / 2 ** 20).toFixed(1)} MB`,
    )
  } else await sleep(300)
  const after = await settle()
  const perConnection = Math.round((after - before) / count)
  /** New objects and closures per connection by constructor or function name (--snapshot). */
  const objects: Record<string, number> = {}
  /** Shallow bytes of the new JavaScript values (--snapshot): unlike the heap in use, it leaves
   * out compiled code and the native side, so it repeats from run to run. */
  let objectBytes = 0
  const SKIPPED = new Set(['code', 'synthetic', 'native', 'object shape', 'hidden'])
  if (fileA !== null) {
    const fileB = writeHeapSnapshot(join(dir, `session-heap-b-${process.pid}.heapsnapshot`))
    const snapA = readSnapshot(fileA)
    const snapB = readSnapshot(fileB, snapA)
    const sums = new Map<string, { count: number; size: number }>()
    for (const [id, n] of snapB) {
      if (snapA.has(id)) continue
      const key = owners ? `${n.name} <- ${ownerPath(n)}` : `${n.type} ${n.name}`.trim()
      if (!SKIPPED.has(n.type)) objectBytes += n.size
      if (n.type === 'object' || n.type === 'closure') {
        const name = n.type === 'closure' ? `(closure) ${n.name}` : n.name
        objects[name] = (objects[name] ?? 0) + 1
      }
      const s = sums.get(key) ?? { count: 0, size: 0 }
      s.count++
      s.size += n.size
      sums.set(key, s)
    }
    const rows = [...sums].sort((a, b) => b[1].size - a[1].size)
    let total = 0
    for (const [, s] of rows) total += s.size
    if (!json) {
      console.log(`new objects: ${(total / count).toFixed(0)} B per connection (shallow sizes)`)
      for (const [key, s] of rows.slice(0, owners ? 80 : 40)) {
        console.log(
          `${(s.size / count).toFixed(1).padStart(8)} B ${(s.count / count).toFixed(2).padStart(6)}× ${key}`,
        )
      }
    }
  }
  for (const name in objects) objects[name] = Math.round((objects[name]! / count) * 100) / 100
  if (json)
    console.log(
      JSON.stringify({
        kind,
        connections: count,
        heapBytesPerConnection: perConnection,
        objectBytesPerConnection: Math.round(objectBytes / count),
        objects,
      }),
    )
  else
    console.log(
      `${kind}: ${count} connections, heap ${perConnection} B per connection after a full GC`,
    )
  clients.removeAllListeners('exit')
  clients.kill()
  await server.close()
  process.exit(0)
}
