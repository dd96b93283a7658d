// Messages between the abuse tests, their server process and their probe process.
import type { ChannelsOptions, WsBehaviour } from '../../../src/index.ts'

export interface AbuseConfig {
  headersTimeout?: number
  requestTimeout?: number
  /** Options of the `/echo` WebSocket route. */
  echo?: Partial<WsBehaviour<unknown>>
  /** Options of the `/sink` WebSocket route (takes messages, answers nothing). */
  sink?: Partial<WsBehaviour<unknown>>
  channels?: ChannelsOptions
}

export type ToAbuseServer =
  | { type: 'gc' }
  | { type: 'stats' }
  | { type: 'reset-peak' }
  | { type: 'publish'; channel: string; perTick: number; bytes: number }
  | { type: 'stop-publish' }

export interface ServerStats {
  rss: number
  heapUsed: number
  /** Highest readings since the last `reset-peak` (sampled every 20 ms). */
  peakRss: number
  peakHeap: number
  wsOpen: number
  /** Close codes of `/echo` connections so far. */
  wsCloses: Record<string, number>
  /** Message bytes `/sink` took, and its close codes. */
  sinkBytes: number
  sinkCloses: Record<string, number>
  hubConnections: number
  hubDropped: number
}

export type FromAbuseServer =
  | { type: 'listening'; port: number }
  | { type: 'gc' }
  | ({ type: 'stats' } & ServerStats)
  | { type: 'reset-peak' }
  | { type: 'publish' }
  | { type: 'stop-publish' }

export type ToProbe = { type: 'start' } | { type: 'stop' }

/** What a probe measured between `start` and `stop`. */
export interface ProbeReport {
  /** Round trips (echo) or deliveries (channel) measured. */
  count: number
  /** How long the measurement ran, ms. */
  ms: number
  p50: number
  p99: number
  max: number
  /** The probe's connection ended or failed while it was measuring. */
  broken: string | null
  /** Channel probe: offsets that never arrived, and gap pushes seen. */
  lost: number
  gaps: number
}

export type FromProbe = { type: 'ready' } | { type: 'started' } | ({ type: 'report' } & ProbeReport)
