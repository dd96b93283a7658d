// The benchmark's peers: the server implementations a scenario runs against, each started fresh
// for every run (bench/peers/*).
import type { Transport } from './types.ts'

/** One server implementation, started fresh for every run. */
export interface Peer {
  /** Name in tables and in `--peers`. */
  name: string
  runtime: 'node' | 'bun'
  /** Server script, relative to the repository root. */
  file: string
  /** Passed to the peer as BENCH_KIND. */
  kind: 'http' | 'ws' | 'sse' | 'ws-channel' | 'sse-channel' | 'rooms'
  transport: Transport
  /** Server processes started for one run (default 1). The generator spreads its subscribers
   * evenly over them and publishes on the first. */
  nodes?: number
  /** Start a fresh redis-server for each run and pass its URL to every node as BENCH_REDIS_URL. */
  redis?: boolean
  /** Give each run a fresh temp directory for a DurableBroker (BENCH_DURABLE_DIR), removed after. */
  durable?: boolean
  /** With `durable`: the broker's `delivery` option (default 'committed'). */
  durableDelivery?: 'committed' | 'immediate'
  /** Prometheus metrics on (`metrics: true`), scraped once a second by the peer itself. */
  metrics?: boolean
  /** More environment for the peer's process. */
  env?: Record<string, string>
}

const peer = (
  name: string,
  file: string,
  kind: Peer['kind'],
  transport: Transport,
  runtime: Peer['runtime'] = 'node',
): Peer => ({ name, file: `bench/peers/${file}`, kind, transport, runtime })

export const PEERS = {
  switchboardHttp: peer('switchboard', 'switchboard.ts', 'http', 'http'),
  fastify: peer('fastify', 'fastify.ts', 'http', 'http'),
  nodeHttp: peer('node:http', 'node-http.ts', 'http', 'http'),
  switchboardWs: peer('switchboard', 'switchboard.ts', 'ws', 'ws'),
  ws: peer('ws', 'ws.ts', 'ws', 'ws'),
  socketio: peer('socket.io', 'socketio.ts', 'ws', 'socketio'),
  bun: peer('bun', 'bun.js', 'ws', 'ws', 'bun'),
  switchboardSse: peer('switchboard', 'switchboard.ts', 'sse', 'sse'),
  nodeSse: peer('node:http sse', 'node-sse.ts', 'sse', 'sse'),
  bunSse: peer('bun', 'bun.js', 'sse', 'sse', 'bun'),
  /** The floor under a Node WebSocket fan-out: framing once and a bare write per socket. */
  nodeFloorWrite: peer('node floor (socket.write)', 'node-floor.ts', 'ws', 'ws'),
  nodeFloorDirect: {
    ...peer('node floor (direct write)', 'node-floor.ts', 'ws', 'ws'),
    env: { BENCH_FLOOR_WRITE: 'direct' },
  },
  /** The same, written once per event-loop turn: the turn's frames joined once for every socket. */
  nodeFloorBatched: {
    ...peer('node floor (one write a turn)', 'node-floor.ts', 'ws', 'ws'),
    env: { BENCH_FLOOR_WRITE: 'direct', BENCH_FLOOR_BATCH: '1' },
  },
  switchboardWsChannels: peer('switchboard channels', 'switchboard.ts', 'ws-channel', 'channel-ws'),
  /** Channels with the hub's `writeDelay` at 20 ms: fewer, larger writes for up to 20 ms more
   * latency (an option, not the default). */
  switchboardWsChannelsDelayed: {
    ...peer(
      'switchboard channels (writeDelay 20 ms)',
      'switchboard.ts',
      'ws-channel',
      'channel-ws',
    ),
    env: { BENCH_WRITE_DELAY: '20' },
  },
  switchboardSseChannels: peer(
    'switchboard channels',
    'switchboard.ts',
    'sse-channel',
    'channel-sse',
  ),
} as const

/** The realistic workload's peers (kind `rooms`): each server's own rooms or topics. The
 * Switchboard row is the channels hub as the fan-out scenarios run it (rooms are channels). */
export const ROOM_PEERS = {
  channels: PEERS.switchboardWsChannels,
  bun: peer('bun', 'bun.js', 'rooms', 'ws', 'bun'),
  ws: peer('ws', 'ws.ts', 'rooms', 'ws'),
  socketio: peer('socket.io', 'socketio.ts', 'rooms', 'socketio'),
  /** The least a Node server can spend on this workload: node:http for the publisher, rooms as
   * Sets, one frame written straight to each member's TCP handle. */
  nodeFloor: {
    ...peer('node floor (direct write)', 'node-floor.ts', 'rooms', 'ws'),
    env: { BENCH_FLOOR_WRITE: 'direct' },
  },
} satisfies Record<string, Peer>

/** The cluster peers: the same servers, several processes sharing one redis-server. */
export const CLUSTER_PEERS = {
  switchboard2: {
    ...peer('switchboard 2 nodes + redis', 'switchboard.ts', 'ws-channel', 'channel-ws'),
    nodes: 2,
    redis: true,
  },
  switchboard1: peer('switchboard 1 node', 'switchboard.ts', 'ws-channel', 'channel-ws'),
  switchboard1Redis: {
    ...peer('switchboard 1 node + redis', 'switchboard.ts', 'ws-channel', 'channel-ws'),
    redis: true,
  },
  socketio2: {
    ...peer('socket.io 2 nodes + redis', 'socketio.ts', 'ws', 'socketio'),
    nodes: 2,
    redis: true,
  },
  socketio1: peer('socket.io 1 node', 'socketio.ts', 'ws', 'socketio'),
} satisfies Record<string, Peer>

/** The durable-broker peers: the channels hub on a DurableBroker, and the same hub on MemoryBroker. */
export const DURABLE_PEERS = {
  durable: {
    ...peer('switchboard channels durable', 'switchboard.ts', 'ws-channel', 'channel-ws'),
    durable: true,
  },
  immediate: {
    ...peer('switchboard channels durable immediate', 'switchboard.ts', 'ws-channel', 'channel-ws'),
    durable: true,
    durableDelivery: 'immediate',
  },
  memory: peer('switchboard channels memory', 'switchboard.ts', 'ws-channel', 'channel-ws'),
} satisfies Record<string, Peer>

/** The channels hub with Prometheus metrics on, against the same hub with them off. */
export const METRICS_PEERS = {
  on: {
    ...peer('switchboard channels metrics on', 'switchboard.ts', 'ws-channel', 'channel-ws'),
    metrics: true,
  },
  off: peer('switchboard channels metrics off', 'switchboard.ts', 'ws-channel', 'channel-ws'),
} satisfies Record<string, Peer>
