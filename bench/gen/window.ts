// What a measured window costs: CPU of the server (summed over its nodes), of each node, of the
// generator, of the redis-server of a cluster run (read apart, never added to the server's) and of
// every other process; the server's write calls and storage writes; the machine's disk flushes;
// and, set by the caller, the commits of a durable server.
import {
  cpuUs,
  diskFlushes,
  machineProcessCpuUs,
  selfCpuUs,
  storageWriteBytes,
  writeCalls,
} from '../lib/proc.ts'
import type { Metrics } from '../lib/types.ts'

export class Window {
  private s0: number[] = []
  private w0: number[] = []
  private b0: number[] = []
  private r0 = 0
  private g0 = 0
  private m0 = 0
  private f0 = 0
  private t0 = 0
  serverUs = 0
  nodeUs: number[] = []
  redisUs = 0
  genUs = 0
  /** CPU of every other process on the machine (other work makes a run noisy). */
  otherUs = 0
  /** Write calls of the server nodes (deliveries per write shows how much a server batches). */
  writes = 0
  /** Bytes the server nodes sent to storage. */
  storageBytes = 0
  /** Cache flushes of the machine's disks, by any process (each fsync costs one). */
  flushes = 0
  /** Commits (sync batches) of a durable server over the window, read by the caller; NaN without. */
  commits = Number.NaN
  sec = 0
  constructor(
    private readonly pids: number[],
    private readonly redisPid?: number,
  ) {}
  start(): void {
    this.s0 = this.pids.map(cpuUs)
    this.w0 = this.pids.map(writeCalls)
    this.b0 = this.pids.map(storageWriteBytes)
    if (this.redisPid !== undefined) this.r0 = cpuUs(this.redisPid)
    this.f0 = diskFlushes()
    this.g0 = selfCpuUs()
    this.m0 = machineProcessCpuUs()
    this.t0 = performance.now()
  }
  stop(): void {
    this.sec = (performance.now() - this.t0) / 1000
    this.nodeUs = this.pids.map((pid, i) => cpuUs(pid) - this.s0[i]!)
    this.serverUs = this.nodeUs.reduce((a, b) => a + b, 0)
    this.writes = this.pids.reduce((sum, pid, i) => sum + writeCalls(pid) - this.w0[i]!, 0)
    this.storageBytes = this.pids.reduce(
      (sum, pid, i) => sum + storageWriteBytes(pid) - this.b0[i]!,
      0,
    )
    if (this.redisPid !== undefined) this.redisUs = cpuUs(this.redisPid) - this.r0
    this.flushes = diskFlushes() - this.f0
    this.genUs = selfCpuUs() - this.g0
    const machineUs = machineProcessCpuUs() - this.m0
    this.otherUs = Math.max(0, machineUs - this.serverUs - this.redisUs - this.genUs)
  }
  private pct(us: number): number {
    return (us / 1e4 / this.sec) | 0
  }
  private perSec(n: number): number {
    return Math.round((n / this.sec) * 10) / 10
  }
  metrics(): Metrics {
    const out: Metrics = {
      serverCpuPct: this.pct(this.serverUs),
      genCpuPct: this.pct(this.genUs),
      otherCpuPct: this.pct(this.otherUs),
      windowSec: Math.round(this.sec * 100) / 100,
      diskFlushesPerSec: this.perSec(this.flushes),
      storageKBPerSec: this.perSec(this.storageBytes / 1024),
    }
    if (this.pids.length > 1)
      for (let i = 0; i < this.nodeUs.length; i++) out[`node${i}CpuPct`] = this.pct(this.nodeUs[i]!)
    if (this.redisPid !== undefined) out.redisCpuPct = this.pct(this.redisUs)
    if (Number.isFinite(this.commits)) out.commitsPerSec = this.perSec(this.commits)
    return out
  }
}
