// Types shared by the orchestrator (bench/run.ts) and the load generator (bench/gen/main.ts).

/**
 * How the generator talks to a peer. `channel-ws` / `channel-sse` speak Switchboard's channel
 * protocol v1 (JSON): connect + subscribe over a WebSocket, or a channel SSE stream.
 */
export type Transport = 'ws' | 'socketio' | 'sse' | 'http' | 'channel-ws' | 'channel-sse'

/** What one generator run does; sent to the generator process as JSON in argv. */
export interface GenConfig {
  /** idle: connect and measure RSS; fanout-max / fanout-rate: POST /pub broadcasts; echo; http;
   * publish-max: `publishers` connections each keep one POST /pub in flight, to `connections`
   * subscribers; rooms: the realistic workload (rooms, a channel for all, churn; `rooms`). */
  kind: 'idle' | 'fanout-max' | 'fanout-rate' | 'echo' | 'http' | 'publish-max' | 'rooms'
  transport: Transport
  port: number
  /** The server process, for /proc CPU and RSS readings. */
  serverPid: number
  connections: number
  /** Connection attempts in flight at once while opening. */
  connectConcurrency: number
  warmupMs: number
  durationMs: number
  /** Message payload size in bytes (fan-out, echo). */
  payloadBytes: number
  /** fanout-max: publications in flight (window) before the next POST /pub. */
  window: number
  /** fanout-rate: target deliveries per second across all subscribers. */
  rate: number
  /** publish-max: publisher connections, one POST /pub in flight each. */
  publishers?: number
  /** idle: how long the server stays quiet before each RSS reading (before and after connecting). */
  settleMs: number
  /** Cluster runs: every server node, the first being `port`/`serverPid` (where the publisher
   * posts). Subscriber i connects to node i mod nodes. Absent: the one node `port`. */
  nodes?: { port: number; pid: number }[]
  /** Cluster runs: the redis-server, whose CPU is read apart from the servers'. */
  redisPid?: number
  /** Durable-broker runs: the server's data directory (its commits are read from GET /__commits). */
  durableDir?: string
  /** The realistic workload's shape (kind `rooms`). */
  rooms?: RoomsConfig
}

/**
 * The realistic workload (issue #18): `connections` clients, each in one room of `roomSize` and on
 * one channel everyone is on; publications at a steady rate, most of the rooms' traffic on a few
 * hot rooms; clients moving between rooms and reconnecting all the time.
 */
export interface RoomsConfig {
  /** Clients per room (rooms = connections / roomSize). */
  roomSize: number
  /** Room publications per second, over all rooms. */
  roomRate: number
  /** Publications per second on the channel everyone is on. */
  allRate: number
  /** The share of rooms that are hot (the first ones). */
  hotRooms: number
  /** The share of room publications that go to the hot rooms. */
  hotShare: number
  /** Clients moving to another room per second (each an unsubscribe and a subscribe; in pairs
   * that swap rooms, so every room keeps its size). */
  movesPerSec: number
  /** Clients closing their connection and opening a new one per second (rejoining both). */
  reconnectsPerSec: number
}

/** One generator run's measurements; every field is a number so rows aggregate uniformly. */
export type Metrics = Record<string, number>

export interface GenResult {
  ok: boolean
  error?: string
  metrics: Metrics
  notes: string[]
}
