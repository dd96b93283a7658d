// Allocation guards of the fan-out path (issue #18): a publication reaching thousands of
// subscribers must not make garbage per subscriber. Heap growth is read around whole write
// windows, at two subscriber counts: what a publication costs whatever the count (its frames,
// history entry, promises) cancels out, and what is left is the cost per subscriber.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { getHeapStatistics } from 'node:v8'
import { Hub } from './hub.ts'
import { SseTransport } from './sse-transport.ts'
import { AcceptingStream, AcceptingWs, preparedJsonFormat } from './test-utils/accepting.ts'
import { wsJsonFormat } from './transport.ts'
import { WsTransport } from './ws-transport.ts'

const PAYLOAD = 'x'.repeat(64)

type Kind = 'websocket' | 'websocket with prepared frames' | 'sse'

const windowClosed = () => new Promise((r) => setImmediate(r))

/**
 * Median heap growth over one write window of `perTurn` publications, with `subscribers`
 * sessions of one kind on the channel. (A scavenge inside a window lowers that window's figure;
 * the median ignores it.)
 */
async function growthPerWindow(kind: Kind, subscribers: number, perTurn: number): Promise<number> {
  const hub = new Hub({ namespaces: { feed: { historySize: 100 } } })
  try {
    const conns: { writes: number }[] = []
    for (let i = 0; i < subscribers; i++) {
      if (kind === 'sse') {
        const sink = new AcceptingStream()
        conns.push(sink)
        await hub.openStream({ channels: ['feed:all'] }, () => new SseTransport(sink, ['feed:all']))
        continue
      }
      const ws = new AcceptingWs()
      conns.push(ws)
      const format = kind === 'websocket' ? wsJsonFormat : preparedJsonFormat
      const session = hub.connect(new WsTransport(ws, format))
      session.receive('{"id":1,"type":"connect"}')
      session.receive('{"id":2,"type":"subscribe","channel":"feed:all"}')
    }
    await windowClosed()
    await windowClosed()
    // Warm up (the optimizing compiler), then measure.
    const publishTurn = async () => {
      const published: Promise<unknown>[] = []
      for (let k = 0; k < perTurn; k++) published.push(hub.publish('feed:all', PAYLOAD))
      await Promise.all(published)
      await windowClosed()
    }
    for (let i = 0; i < 300; i++) await publishTurn()
    const writes = conns[0]!.writes
    const grown: number[] = []
    for (let i = 0; i < 15; i++) {
      const before = getHeapStatistics().used_heap_size
      await publishTurn()
      grown.push(getHeapStatistics().used_heap_size - before)
    }
    // The plain format's frames go out one `send` each; the others take one write per turn.
    const perWindow = kind === 'websocket' ? perTurn : 1
    assert.equal(conns[0]!.writes - writes, 15 * perWindow, 'writes per write window')
    assert.equal(conns.at(-1)!.writes, conns[0]!.writes, 'every session was written')
    grown.sort((a, b) => a - b)
    return grown[7]!
  } finally {
    await hub.close()
  }
}

// Anything else running in the process (the TypeScript loader expires its disk cache in the
// background on some Node versions) adds to the windows it overlaps: a measurement is taken again
// when it comes out high, up to four times. Garbage the fan-out makes per session shows in every
// one of them.
const ATTEMPTS = 4

const CASES: { kind: Kind; perTurn: number }[] = [
  { kind: 'websocket', perTurn: 1 },
  { kind: 'websocket with prepared frames', perTurn: 1 },
  { kind: 'websocket with prepared frames', perTurn: 5 },
  { kind: 'sse', perTurn: 1 },
]

for (const { kind, perTurn } of CASES) {
  const what = perTurn === 1 ? 'one publication per turn' : `${perTurn} publications per turn`
  const verb = perTurn === 1 ? 'allocates' : 'allocate'
  test(`${what} ${verb} nothing per ${kind} session it reaches`, async () => {
    const seen: string[] = []
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const few = await growthPerWindow(kind, 200, perTurn)
      const many = await growthPerWindow(kind, 2000, perTurn)
      const perSession = (many - few) / 1800
      seen.push(perSession.toFixed(1))
      // Before the flush queue and the channel turn reused their lists, and before the fan-out
      // stopped iterating with for-of, this was about 110-130 bytes.
      if (perSession < 4) return
    }
    assert.fail(
      `bytes per session and write window, in ${ATTEMPTS} measurements: ${seen.join(', ')}`,
    )
  })
}
