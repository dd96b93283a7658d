// The benchmark's scenarios: what runs, against whom, for how long. The peers are in peers.ts,
// the generator settings of a run in gen-config.ts (both re-exported here).
import {
  CLUSTER_PEERS,
  DURABLE_PEERS,
  METRICS_PEERS,
  PEERS,
  type Peer,
  ROOM_PEERS,
} from './peers.ts'
import type { GenConfig, RoomsConfig } from './types.ts'

export * from './gen-config.ts'
export * from './peers.ts'

/** The name of the peer whose ratios against every other peer the report gives. */
export const SUBJECT = 'switchboard'
/** Every Switchboard row (raw broadcast and channels hub): each gets ratios against the peers. */
export const SUBJECTS = [SUBJECT, 'switchboard channels']

export interface Metric {
  key: string
  label: string
  higherIsBetter: boolean
}

export interface Scenario {
  name: string
  title: string
  /** What the generator does; per-scenario numbers are filled in by `genConfig`. */
  gen: Pick<GenConfig, 'kind' | 'connections' | 'warmupMs' | 'durationMs' | 'window' | 'rate'> &
    Partial<Pick<GenConfig, 'settleMs' | 'publishers' | 'rooms'>>
  peers: Peer[]
  /** The metric the ratios are computed on, then any further ratio metrics. */
  ratioMetrics: Metric[]
  /** Columns shown in the table, in order. */
  columns: string[]
  /** A max-rate scenario: one of the two processes should be near 100% CPU. */
  saturates?: boolean
  /** The rows that get ratios against every other row, main one first (default SUBJECTS). */
  subjects?: string[]
}

/** The subject rows of `s`: the first gets the ratio columns, the others a line each. */
export function subjectsOf(s: Scenario | undefined): string[] {
  return s?.subjects ?? SUBJECTS
}

const WS_PEERS = [PEERS.switchboardWs, PEERS.ws, PEERS.socketio, PEERS.bun]
const WS_FANOUT_PEERS = [
  PEERS.switchboardWs,
  PEERS.switchboardWsChannels,
  PEERS.ws,
  PEERS.socketio,
  PEERS.bun,
]
const SSE_FANOUT_PEERS = [
  PEERS.switchboardSse,
  PEERS.switchboardSseChannels,
  PEERS.nodeSse,
  PEERS.bunSse,
]
/** One publication per event-loop turn: 5,000 subscribers × 4 publications/s (issue #18). */
const LATENCY_GEN: Scenario['gen'] = {
  kind: 'fanout-rate',
  connections: 5000,
  warmupMs: 1000,
  durationMs: 6000,
  window: 0,
  rate: 20_000,
}
const m = (key: string, label: string, higherIsBetter: boolean): Metric => ({
  key,
  label,
  higherIsBetter,
})
const FANOUT_RATIOS = [
  m('deliveriesPerSec', 'deliveries/s', true),
  m('cpuUsPerDelivery', 'server CPU-µs per delivery', false),
]
const CLUSTER_PEER_LIST = [
  CLUSTER_PEERS.switchboard2,
  CLUSTER_PEERS.switchboard1,
  CLUSTER_PEERS.switchboard1Redis,
  CLUSTER_PEERS.socketio2,
  CLUSTER_PEERS.socketio1,
]
const CLUSTER_SUBJECTS = [CLUSTER_PEERS.switchboard2.name]
const DURABLE_PEER_LIST = [DURABLE_PEERS.durable, DURABLE_PEERS.immediate, DURABLE_PEERS.memory]
const DURABLE_SUBJECTS = [DURABLE_PEERS.durable.name]
const FANOUT_COLUMNS = ['deliveriesPerSec', 'cpuUsPerDelivery', 'serverCpuPct', 'genCpuPct', 'lost']
const LATENCY_COLUMNS = ['p50Ms', 'p99Ms', 'maxMs', 'deliveriesPerSec', 'cpuUsPerDelivery']
const IDLE_COLUMNS = [
  'bytesPerConn',
  'bytesPerConnAt2s',
  'heapBytesPerConn',
  'heapBytesPerConnAt2s',
  'rssBeforeMB',
  'rssAfterMB',
  'connectPerSec',
]

/** The realistic workload's defaults (issue #18); each can be changed by an environment variable. */
export const REALISTIC: RoomsConfig = {
  roomSize: 10,
  roomRate: 500,
  allRate: 1,
  hotRooms: 0.1,
  hotShare: 0.9,
  movesPerSec: 100,
  reconnectsPerSec: 10,
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'http',
    title: 'HTTP hello-world JSON, 100 keep-alive connections',
    gen: { kind: 'http', connections: 100, warmupMs: 1000, durationMs: 5000, window: 0, rate: 0 },
    peers: [PEERS.switchboardHttp, PEERS.fastify, PEERS.nodeHttp],
    ratioMetrics: [m('reqPerSec', 'requests/s', true)],
    columns: ['reqPerSec', 'p50Ms', 'p99Ms', 'cpuUsPerRequest', 'serverCpuPct', 'genCpuPct'],
    saturates: true,
  },
  {
    name: 'ws-idle',
    title:
      'Idle memory, 10,000 WebSocket connections, bare and channel sessions (RSS and heap delta / connections)',
    gen: { kind: 'idle', connections: 10_000, warmupMs: 0, durationMs: 0, window: 0, rate: 0 },
    // The channels row is a session subscribed to one channel (connect + subscribe).
    peers: WS_FANOUT_PEERS,
    ratioMetrics: [m('bytesPerConn', 'bytes per connection', false)],
    columns: IDLE_COLUMNS,
  },
  {
    name: 'sse-idle',
    title:
      'Idle memory, 10,000 SSE streams, bare and channel sessions (RSS and heap delta / streams)',
    gen: { kind: 'idle', connections: 10_000, warmupMs: 0, durationMs: 0, window: 0, rate: 0 },
    peers: SSE_FANOUT_PEERS,
    ratioMetrics: [m('bytesPerConn', 'bytes per stream', false)],
    columns: IDLE_COLUMNS,
  },
  {
    name: 'ws-echo',
    title: 'WebSocket echo round trips, 100 connections, 64-byte text, one in flight each',
    gen: { kind: 'echo', connections: 100, warmupMs: 1000, durationMs: 4000, window: 0, rate: 0 },
    // The floor row (a hand-written Node echo, direct writes) shows what Node itself costs.
    peers: [...WS_PEERS, PEERS.nodeFloorDirect],
    ratioMetrics: [
      m('roundTripsPerSec', 'round trips/s', true),
      m('cpuUsPerRoundTrip', 'server CPU-µs per round trip', false),
    ],
    columns: [
      'roundTripsPerSec',
      'p50Ms',
      'p99Ms',
      'cpuUsPerRoundTrip',
      'serverCpuPct',
      'genCpuPct',
    ],
  },
  {
    name: 'ws-fanout',
    title: 'WebSocket fan-out at max rate, 5,000 subscribers, 64-byte messages',
    gen: {
      kind: 'fanout-max',
      connections: 5000,
      // 3 s: with 1 s, V8 was still compiling the hub's fan-out path (its compiler threads
      // took 7-17 % of a core) during the first seconds of the measured window.
      warmupMs: 3000,
      durationMs: 5000,
      window: 32,
      rate: 0,
    },
    peers: [...WS_FANOUT_PEERS, PEERS.nodeFloorBatched],
    ratioMetrics: FANOUT_RATIOS,
    columns: FANOUT_COLUMNS,
    saturates: true,
  },
  {
    name: 'ws-latency',
    title: 'WebSocket fan-out at 20,000 deliveries/s (5,000 subscribers × 4 msg/s): latency',
    gen: LATENCY_GEN,
    peers: WS_FANOUT_PEERS,
    ratioMetrics: [
      m('p99Ms', 'p99 latency', false),
      m('cpuUsPerDelivery', 'server CPU-µs per delivery', false),
    ],
    columns: LATENCY_COLUMNS,
  },
  {
    // What ws-latency's rows sit on: the least Node can do per delivery (frame once, write each
    // socket) next to Bun's publish, in the same run. Its ratio is the floor of the one in
    // ws-latency, and how much of that one the WebSocket layer and the hub add (issue #18).
    name: 'ws-floor',
    title:
      'The write floor at 20,000 deliveries/s (5,000 subscribers × 4 msg/s): a bare Node write loop against Bun and Switchboard',
    gen: LATENCY_GEN,
    peers: [
      PEERS.nodeFloorDirect,
      PEERS.nodeFloorWrite,
      PEERS.switchboardWs,
      PEERS.switchboardWsChannels,
      PEERS.bun,
    ],
    subjects: [PEERS.nodeFloorDirect.name, PEERS.switchboardWsChannels.name],
    ratioMetrics: [
      m('cpuUsPerDelivery', 'server CPU-µs per delivery', false),
      m('p99Ms', 'p99 latency', false),
    ],
    columns: LATENCY_COLUMNS,
  },
  {
    // The hub's `writeDelay` where it changes something: every subscriber gets a publication
    // every 10 ms, and one fan-out takes less than that, so without a delay each publication is
    // its own write to each socket. (At max rate, or with 5,000 subscribers, a turn's fan-out
    // outlasts the delay and already joins many publications per write: there it changes
    // nothing.) The delayed row pays for its saving in latency; both are in the table.
    name: 'ws-ticker',
    title:
      "WebSocket ticker at 50,000 deliveries/s (500 subscribers × 100 msg/s): the hub's writeDelay of 20 ms against none",
    gen: {
      kind: 'fanout-rate',
      connections: 500,
      warmupMs: 1000,
      durationMs: 6000,
      window: 0,
      rate: 50_000,
    },
    peers: [PEERS.switchboardWsChannels, PEERS.switchboardWsChannelsDelayed, PEERS.bun],
    subjects: [PEERS.switchboardWsChannels.name, PEERS.switchboardWsChannelsDelayed.name],
    ratioMetrics: [
      m('cpuUsPerDelivery', 'server CPU-µs per delivery', false),
      m('p50Ms', 'p50 latency', false),
      m('p99Ms', 'p99 latency', false),
    ],
    columns: [...LATENCY_COLUMNS, 'deliveriesPerWrite'],
  },
  {
    name: 'sse-fanout',
    title: 'SSE fan-out at max rate, 5,000 streams, 64-byte events',
    gen: {
      kind: 'fanout-max',
      connections: 5000,
      // 3 s: with 1 s, V8 was still compiling the hub's fan-out path (its compiler threads
      // took 7-17 % of a core) during the first seconds of the measured window.
      warmupMs: 3000,
      durationMs: 5000,
      window: 32,
      rate: 0,
    },
    peers: SSE_FANOUT_PEERS,
    ratioMetrics: FANOUT_RATIOS,
    columns: FANOUT_COLUMNS,
    saturates: true,
  },
  {
    name: 'sse-latency',
    title: 'SSE fan-out at 20,000 deliveries/s (5,000 streams × 4 events/s): latency',
    gen: LATENCY_GEN,
    peers: SSE_FANOUT_PEERS,
    ratioMetrics: [
      m('p99Ms', 'p99 latency', false),
      m('cpuUsPerDelivery', 'server CPU-µs per delivery', false),
    ],
    columns: LATENCY_COLUMNS,
  },
  {
    name: 'realistic',
    title:
      'Realistic workload: 10,000 WebSocket clients in 1,000 rooms of 10 plus one channel for all, 500 room publications/s (90 % to 10 % of the rooms) and 1/s to all, 100 room moves/s and 10 reconnects/s',
    gen: {
      kind: 'rooms',
      connections: 10_000,
      warmupMs: 2000,
      durationMs: 10_000,
      window: 0,
      rate: 0,
      rooms: REALISTIC,
    },
    peers: [
      ROOM_PEERS.channels,
      ROOM_PEERS.bun,
      ROOM_PEERS.ws,
      ROOM_PEERS.socketio,
      ROOM_PEERS.nodeFloor,
    ],
    ratioMetrics: [
      m('cpuUsPerDelivery', 'server CPU-µs per delivery', false),
      m('p99Ms', 'p99 latency', false),
      m('rssMB', 'server RSS', false),
    ],
    columns: [
      'deliveriesPerSec',
      'cpuUsPerDelivery',
      'p50Ms',
      'p99Ms',
      'p999Ms',
      'lost',
      'rssMB',
      'serverCpuPct',
      'genCpuPct',
      'otherCpuPct',
    ],
    subjects: [ROOM_PEERS.channels.name],
  },
  {
    name: 'cluster-fanout',
    title:
      'Channel fan-out at max rate across 2 nodes and one redis-server, 5,000 subscribers (half on each node), publisher on the first',
    gen: {
      kind: 'fanout-max',
      connections: 5000,
      warmupMs: 1000,
      durationMs: 5000,
      window: 32,
      rate: 0,
    },
    peers: CLUSTER_PEER_LIST,
    ratioMetrics: [
      m('deliveriesPerCpuSec', 'deliveries per server CPU-second', true),
      m('deliveriesPerSec', 'deliveries/s', true),
    ],
    columns: [
      'deliveriesPerSec',
      'deliveriesPerCpuSec',
      'cpuUsPerDelivery',
      'serverCpuPct',
      'node0CpuPct',
      'node1CpuPct',
      'redisCpuPct',
      'redisCpuUsPerPublication',
      'deliveriesPerWrite',
      'genCpuPct',
      'otherCpuPct',
      'lost',
    ],
    saturates: true,
    subjects: CLUSTER_SUBJECTS,
  },
  {
    name: 'cluster-latency',
    title:
      'Channel fan-out at 20,000 deliveries/s across 2 nodes and one redis-server (5,000 subscribers × 4 msg/s): latency by node',
    gen: LATENCY_GEN,
    peers: CLUSTER_PEER_LIST,
    ratioMetrics: [
      m('p99Ms', 'p99 latency, all subscribers', false),
      m('cpuUsPerDelivery', 'server CPU-µs per delivery', false),
    ],
    columns: [
      'pubNodeP50Ms',
      'pubNodeP99Ms',
      'otherNodeP50Ms',
      'otherNodeP99Ms',
      'p99Ms',
      'deliveriesPerSec',
      'cpuUsPerDelivery',
      'redisCpuPct',
      'redisCpuUsPerPublication',
      'otherCpuPct',
    ],
    subjects: CLUSTER_SUBJECTS,
  },
  {
    name: 'cluster-rate',
    title:
      'Channel fan-out at a steady 1,000,000 deliveries/s across 2 nodes and one redis-server (5,000 subscribers × 200 msg/s): server CPU per delivery',
    gen: {
      kind: 'fanout-rate',
      connections: 5000,
      warmupMs: 1000,
      durationMs: 5000,
      window: 0,
      rate: 1_000_000,
    },
    // Socket.IO tops out near 100,000 deliveries/s here (cluster-fanout), so it cannot hold this
    // rate and has no row: its cost is compared at max rate and at 20,000/s.
    peers: [
      CLUSTER_PEERS.switchboard2,
      CLUSTER_PEERS.switchboard1,
      CLUSTER_PEERS.switchboard1Redis,
    ],
    ratioMetrics: [
      m('deliveriesPerCpuSec', 'deliveries per server CPU-second', true),
      m('p99Ms', 'p99 latency, all subscribers', false),
    ],
    columns: [
      'deliveriesPerSec',
      'deliveriesPerCpuSec',
      'cpuUsPerDelivery',
      'deliveriesPerWrite',
      'serverCpuPct',
      'node0CpuPct',
      'node1CpuPct',
      'p50Ms',
      'p99Ms',
      'redisCpuPct',
      'redisCpuUsPerPublication',
      'genCpuPct',
      'otherCpuPct',
      'lost',
    ],
    subjects: CLUSTER_SUBJECTS,
  },
  {
    name: 'durable-fanout',
    title:
      'Channel fan-out at max rate on one node, DurableBroker (LevelDB, fresh temp dir) vs MemoryBroker, 5,000 subscribers, history 100',
    gen: {
      kind: 'fanout-max',
      connections: 5000,
      warmupMs: 1000,
      durationMs: 5000,
      window: 32,
      rate: 0,
    },
    peers: DURABLE_PEER_LIST,
    ratioMetrics: [
      m('deliveriesPerCpuSec', 'deliveries per server CPU-second', true),
      m('deliveriesPerSec', 'deliveries/s', true),
    ],
    columns: [
      'deliveriesPerSec',
      'deliveriesPerCpuSec',
      'cpuUsPerDelivery',
      'serverCpuPct',
      'genCpuPct',
      'deliveriesPerWrite',
      'publishesPerSec',
      'commitsPerSec',
      'publishesPerCommit',
      'diskFlushesPerSec',
      'otherCpuPct',
      'lost',
    ],
    saturates: true,
    subjects: DURABLE_SUBJECTS,
  },
  {
    name: 'durable-latency',
    title:
      'Channel fan-out at 20,000 deliveries/s on one node (5,000 subscribers × 4 msg/s), DurableBroker vs MemoryBroker: latency',
    gen: LATENCY_GEN,
    peers: DURABLE_PEER_LIST,
    ratioMetrics: [
      m('p99Ms', 'p99 latency', false),
      m('cpuUsPerDelivery', 'server CPU-µs per delivery', false),
    ],
    columns: [...LATENCY_COLUMNS, 'commitsPerSec', 'otherCpuPct'],
    subjects: DURABLE_SUBJECTS,
  },
  {
    name: 'durable-publish',
    title:
      'Publications accepted by one node: 64 publishers with one POST /pub in flight each, 10 subscribers, DurableBroker vs MemoryBroker',
    gen: {
      kind: 'publish-max',
      connections: 10,
      publishers: 64,
      warmupMs: 1000,
      durationMs: 5000,
      window: 0,
      rate: 0,
    },
    peers: DURABLE_PEER_LIST,
    ratioMetrics: [
      m('publishesPerSec', 'publishes acknowledged/s', true),
      m('cpuUsPerPublish', 'server CPU-µs per publish', false),
    ],
    columns: [
      'publishesPerSec',
      'cpuUsPerPublish',
      'ackP50Ms',
      'ackP99Ms',
      'deliveriesPerSec',
      'serverCpuPct',
      'genCpuPct',
      'commitsPerSec',
      'publishesPerCommit',
      'diskFlushesPerSec',
      'storageKBPerSec',
      'otherCpuPct',
      'lost',
    ],
    saturates: true,
    subjects: DURABLE_SUBJECTS,
  },
  {
    name: 'metrics-fanout',
    title:
      'Channel fan-out at max rate, 5,000 WebSocket subscribers: Prometheus metrics on (scraped every second) vs off',
    gen: {
      kind: 'fanout-max',
      connections: 5000,
      warmupMs: 1000,
      durationMs: 5000,
      window: 32,
      rate: 0,
    },
    peers: [METRICS_PEERS.on, METRICS_PEERS.off],
    ratioMetrics: [
      m('deliveriesPerCpuSec', 'deliveries per server CPU-second', true),
      m('deliveriesPerSec', 'deliveries/s', true),
    ],
    columns: [
      'deliveriesPerSec',
      'deliveriesPerCpuSec',
      'cpuUsPerDelivery',
      'serverCpuPct',
      'genCpuPct',
      'lost',
    ],
    saturates: true,
    subjects: [METRICS_PEERS.on.name],
  },
]
