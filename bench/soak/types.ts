// Messages between the soak's orchestrator (run.ts), its server (server.ts) and its load
// generator (load.ts), over the children's IPC channels.

export interface LoadConfig {
  port: number
  connections: number
  channels: number
  /** Share of subscribers reading SSE (the rest WebSocket), 0-1. */
  sseShare: number
  /** Publications per second, over all channels. */
  rate: number
  payloadBytes: number
  /** Connections closed and replaced per second. */
  churnPerSec: number
  connectBatch: number
  connectPauseMs: number
  /** After the last publish answer, how long to wait for deliveries before counting the tail. */
  drainMs: number
}

export interface LoadSample {
  t: number
  open: number
  opening: number
  /** Publications delivered in the last second, over every client. */
  delivered: number
  /** Publish-to-delivery latency of a sample of deliveries in the last second (ms). */
  latencyP50: number
  latencyP99: number
  /** Publish answers so far. */
  published: number
  publishErrors: number
  /** Offsets missed by clients the server never told they fell behind (the loss that counts). */
  lostNeverBehind: number
  /** Clients the server told they fell behind (gap push or close), so far. */
  behind: number
  closedByServer: number
  failedOpens: number
  /** The generator's own event-loop delay p99 (ms): high means the numbers are the generator's. */
  genEldP99: number
}

export interface LoadFinal {
  clients: number
  behind: number
  lostNeverBehind: number
  tailLost: number
  lostBehind: number
  published: number
  publishErrors: number
  closedByServer: number
  failedOpens: number
  reasons: Record<string, number>
}

export interface ServerSample {
  t: number
  rss: number
  heapUsed: number
  heapTotal: number
  external: number
  /** Event-loop delay over the last second (ms). */
  eldP99: number
  eldMax: number
  connections: number
  /** Server CPU over the last second, in % of one core. */
  cpuPct: number
  hubDelivered: number
  hubDropped: number
}

export type ToLoad = { type: 'finish' }
export type FromLoad =
  | { type: 'ready'; opened: number; failedOpens: number; reasons: Record<string, number> }
  | { type: 'sample'; sample: LoadSample }
  | { type: 'final'; final: LoadFinal }

export type ToServer = { type: 'steady' } | { type: 'final' }
export type FromServer =
  | { type: 'listening'; port: number }
  | { type: 'sample'; sample: ServerSample }
  | { type: 'final'; eldP99: number; eldMax: number; eldMean: number }
