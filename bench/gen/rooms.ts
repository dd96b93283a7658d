// The realistic workload (issue #18), generator side. `connections` clients, client i in room
// i mod rooms (so every room has `roomSize`) and on the channel everyone is on. Once all have
// joined, one timer drives everything at steady rates from the start time: room publications
// (most of them to the hot rooms), publications to everyone, pairs of clients swapping rooms
// (an unsubscribe and a subscribe each) and clients closing and reopening their connection. The
// choices come from seeded generators, so every peer gets the same sequence of publication
// targets and the same kind and rate of churn. Publications go out as POST /pub/<channel> on one
// keep-alive connection, as in the other fan-out scenarios.
import { rssBytes } from '../lib/proc.ts'
import { Samples } from '../lib/stats.ts'
import type { GenConfig, GenResult, Metrics, RoomsConfig } from '../lib/types.ts'
import { buildRequest, HttpConn, type HttpSink } from './http-client.ts'
import { makeRoomPayload } from './payload.ts'
import { RoomClient, type RoomDialect, RoomState } from './room-client.ts'
import { type Run, requireOpen, serverGc, sleep } from './run-sink.ts'
import { Window } from './window.ts'

/** A small seeded generator (mulberry32): the same sequence on every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function dialectOf(cfg: GenConfig): RoomDialect {
  if (cfg.transport === 'channel-ws') return 'channel'
  if (cfg.transport === 'socketio') return 'socketio'
  if (cfg.transport === 'ws') return 'ws'
  throw new Error(`the rooms scenario has no client for transport ${cfg.transport}`)
}

const round2 = (x: number) => Math.round(x * 100) / 100

export async function rooms(cfg: GenConfig, run: Run): Promise<GenResult> {
  const rc: RoomsConfig = cfg.rooms!
  const n = cfg.connections
  const roomCount = Math.max(1, Math.round(n / rc.roomSize))
  const hot = Math.min(roomCount, Math.max(1, Math.round(roomCount * rc.hotRooms)))
  const dialect = dialectOf(cfg)
  const latency = new Samples()
  const st = new RoomState(roomCount, latency)
  const roomOf = new Int32Array(n)
  const users: RoomClient[] = []

  await serverGc(cfg.port)
  const rssBase = rssBytes(cfg.serverPid)
  let next = 0
  await run.openAll(n, () => {
    const i = next++
    roomOf[i] = i % roomCount
    const c = new RoomClient(cfg.port, dialect, roomOf[i]!, run, st)
    users[i] = c
    return c
  })
  const err = requireOpen(run, n)
  if (err) return { ok: false, error: err, metrics: {}, notes: [] }
  const openedBefore = run.opened
  const failedBefore = run.failed

  let pubOpen: () => void = () => {}
  const pubReady = new Promise<void>((r) => {
    pubOpen = r
  })
  let bad = 0
  const pubSink: HttpSink = {
    onOpen: () => pubOpen(),
    onResponse: (_c, status) => {
      if (status < 200 || status > 299) bad++
    },
    onClose: () => {},
  }
  const pub = new HttpConn(cfg.port, pubSink)
  await pubReady

  const publish = (chan: number) => {
    const seq = ++st.published[chan]!
    const body = makeRoomPayload(seq, chan, cfg.payloadBytes)
    pub.send(buildRequest('POST', `/pub/${st.name(chan)}`, cfg.port, body))
  }
  // Separate streams: the publication targets do not depend on which churn picks were skipped.
  const pickRand = seeded(18)
  const churnRand = seeded(1018)
  const pickRoom = () =>
    pickRand() < rc.hotShare || hot === roomCount
      ? Math.floor(pickRand() * hot)
      : hot + Math.floor(pickRand() * (roomCount - hot))
  const pickSettled = (): number => {
    for (let tries = 0; tries < 50; tries++) {
      const i = Math.floor(churnRand() * n)
      if (users[i]!.settled) return i
    }
    return -1
  }
  let roomPubs = 0
  let allPubs = 0
  let swaps = 0
  let moves = 0
  let reconnects = 0
  let skipped = 0
  const swap = () => {
    const a = pickSettled()
    const b = pickSettled()
    if (a < 0 || b < 0 || roomOf[a] === roomOf[b]) {
      skipped++
      return
    }
    const ra = roomOf[a]!
    roomOf[a] = roomOf[b]!
    roomOf[b] = ra
    users[a]!.moveTo(roomOf[a]!)
    users[b]!.moveTo(ra)
    moves += 2
  }
  const reconnect = () => {
    const i = pickSettled()
    if (i < 0) {
      skipped++
      return
    }
    users[i]!.leave()
    users[i] = new RoomClient(cfg.port, dialect, roomOf[i]!, run, st)
    reconnects++
  }

  let skippedReconnects = 0
  let stopped = false
  const t0 = performance.now()
  const timer = setInterval(() => {
    if (stopped) return
    const sec = (performance.now() - t0) / 1000
    while (roomPubs < Math.floor(sec * rc.roomRate) + 1) {
      roomPubs++
      publish(pickRoom())
    }
    while (rc.allRate > 0 && allPubs < Math.floor(sec * rc.allRate) + 1) {
      allPubs++
      publish(st.all)
    }
    while (swaps < Math.floor((sec * rc.movesPerSec) / 2)) {
      swaps++
      swap()
    }
    while (reconnects + skippedReconnects < Math.floor(sec * rc.reconnectsPerSec)) {
      const before = reconnects
      reconnect()
      if (reconnects === before) skippedReconnects++
    }
  }, 2)

  await sleep(cfg.warmupMs)
  const win = new Window([cfg.serverPid])
  win.start()
  const d0 = run.delivered
  const pubs0 = roomPubs + allPubs
  const moves0 = moves
  const rec0 = reconnects
  st.measuring = true
  let rssPeak = rssBytes(cfg.serverPid)
  const end = Date.now() + cfg.durationMs
  while (Date.now() < end) {
    await sleep(Math.min(250, end - Date.now()))
    rssPeak = Math.max(rssPeak, rssBytes(cfg.serverPid))
  }
  win.stop()
  st.measuring = false
  const rssEnd = rssBytes(cfg.serverPid)
  const delivered = run.delivered - d0
  const pubsInWindow = roomPubs + allPubs - pubs0
  const movesInWindow = moves - moves0
  const reconnectsInWindow = reconnects - rec0
  stopped = true
  clearInterval(timer)

  // Drain: wait (bounded) until every member has every publication it is due, then settle.
  const drainEnd = Date.now() + 8000
  const missingNow = () => users.reduce((sum, c) => sum + (c.closed ? 0 : c.missing()), 0)
  while (missingNow() > 0 && Date.now() < drainEnd) await sleep(50)
  for (const c of users) if (!c.closed) c.settleAll()

  const metrics: Metrics = {
    connections: n,
    rooms: roomCount,
    deliveriesPerSec: Math.round(delivered / win.sec),
    cpuUsPerDelivery: Math.round((win.serverUs / delivered) * 1000) / 1000,
    deliveriesPerCpuSec: Math.round(delivered / (win.serverUs / 1e6)),
    p50Ms: round2(latency.percentile(50)),
    p99Ms: round2(latency.percentile(99)),
    p999Ms: round2(latency.percentile(99.9)),
    maxMs: round2(latency.percentile(100)),
    publicationsPerSec: Math.round((pubsInWindow / win.sec) * 10) / 10,
    movesPerSec: Math.round((movesInWindow / win.sec) * 10) / 10,
    reconnectsPerSec: Math.round((reconnectsInWindow / win.sec) * 10) / 10,
    rssMB: Math.round(rssEnd / 2 ** 20),
    rssPeakMB: Math.round(rssPeak / 2 ** 20),
    rssBaseMB: Math.round(rssBase / 2 ** 20),
    ...win.metrics(),
    expectedDeliveries: st.expected,
    lost: st.lost,
    droppedConns: run.dropped,
    reconnectsOpened: run.opened - openedBefore,
    reconnectsFailed: run.failed - failedBefore,
    churnSkipped: skipped,
    badPublishes: bad,
    unansweredPublishes: pub.pending,
  }
  const notes: string[] = []
  if (st.lost > 0) notes.push(`${st.lost} of ${st.expected} due deliveries missing after drain`)
  if (run.dropped > 0) notes.push(`${run.dropped} connections closed by the server`)
  if (metrics.reconnectsFailed! > 0) notes.push(`${metrics.reconnectsFailed} reconnects failed`)
  return {
    ok: delivered > 0 && bad === 0,
    error: delivered === 0 ? 'no deliveries' : bad > 0 ? `${bad} non-2xx publishes` : undefined,
    metrics,
    notes,
  }
}
