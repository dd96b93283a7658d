// What one generator run of a scenario does: its sizes and rates, with the environment overrides
// and the reduced sizes of a quick run applied.
import type { Peer } from './peers.ts'
import type { Scenario } from './scenarios.ts'
import type { GenConfig, RoomsConfig } from './types.ts'

/** Options that shrink every scenario for a quick check of the harness (BENCH_QUICK=1). */
export interface Sizing {
  quick: boolean
}

/**
 * The generator configuration for one run of `s` against a peer on `port`; for a peer of several
 * nodes, `extra` lists every node (the first is `port`) and the redis-server's pid; for a durable
 * peer, its data directory.
 */
export function genConfig(
  s: Scenario,
  p: Peer,
  port: number,
  pid: number,
  sz: Sizing,
  extra?: Pick<GenConfig, 'nodes' | 'redisPid' | 'durableDir'>,
): GenConfig {
  const q = sz.quick
  const g = s.gen
  // Quick sizes: enough idle connections for RSS to move, few for everything else.
  const quickConns =
    g.kind === 'idle' ? 2000 : g.kind.startsWith('fanout') || g.kind === 'rooms' ? 200 : 20
  const conns = q ? Math.min(quickConns, g.connections) : g.connections
  const env = (name: string, fallback: number) => {
    const v = process.env[name]
    return v === undefined || v === '' ? fallback : Number(v)
  }
  return {
    kind: g.kind,
    transport: p.transport,
    port,
    serverPid: pid,
    connections: env('BENCH_CONNECTIONS', conns),
    connectConcurrency: 256,
    warmupMs: env('BENCH_WARMUP_MS', q ? Math.min(500, g.warmupMs) : g.warmupMs),
    durationMs: env('BENCH_DURATION_MS', q ? Math.min(1500, g.durationMs) : g.durationMs),
    payloadBytes: env('BENCH_PAYLOAD_BYTES', 64),
    window: env('BENCH_WINDOW', g.window),
    // Quick runs keep the per-subscriber publication rate (rate / connections) of the full run.
    rate: env(
      'BENCH_RATE',
      q && g.rate > 0 ? Math.round((g.rate * conns) / g.connections) : g.rate,
    ),
    settleMs: g.settleMs ?? (q ? 500 : 12_000),
    ...(g.publishers === undefined
      ? null
      : { publishers: env('BENCH_PUBLISHERS', q ? Math.min(8, g.publishers) : g.publishers) }),
    ...(g.rooms === undefined
      ? null
      : { rooms: roomsConfig(g.rooms, q ? conns / g.connections : 1) }),
    ...extra,
  }
}

/**
 * The realistic workload's shape: `base`, each field overridable by its environment variable.
 * A quick run (`scale` < 1) keeps the per-room publication rate and the share of clients that
 * churn per second; the all-channel rate stays as it is.
 */
function roomsConfig(base: RoomsConfig, scale: number): RoomsConfig {
  const env = (name: string, fallback: number) => {
    const v = process.env[name]
    return v === undefined || v === '' ? fallback : Number(v)
  }
  return {
    roomSize: env('BENCH_ROOM_SIZE', base.roomSize),
    roomRate: env('BENCH_ROOM_RATE', Math.max(1, Math.round(base.roomRate * scale))),
    allRate: env('BENCH_ALL_RATE', base.allRate),
    hotRooms: env('BENCH_HOT_ROOMS', base.hotRooms),
    hotShare: env('BENCH_HOT_SHARE', base.hotShare),
    movesPerSec: env('BENCH_MOVES_PER_SEC', Math.max(2, Math.round(base.movesPerSec * scale))),
    reconnectsPerSec: env(
      'BENCH_RECONNECTS_PER_SEC',
      Math.max(1, Math.round(base.reconnectsPerSec * scale)),
    ),
  }
}

/** File descriptors one process needs for `connections` sockets, with headroom. */
export function fdsNeeded(connections: number): number {
  return connections + 512
}
