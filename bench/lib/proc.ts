// Reads another process's CPU time and resident memory from /proc (Linux), and describes the
// machine for the report.
import { existsSync, readFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'

// USER_HZ: the unit of utime/stime in /proc/<pid>/stat. 100 on every Linux we run on.
const TICK_US = 10_000

/** Total CPU time (user + system, all threads) of `pid` in microseconds. */
export function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
  // The command name (field 2) may contain spaces; fields resume after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  return (Number(rest[11]) + Number(rest[12])) * TICK_US
}

/**
 * CPU time the whole machine spent in processes (user + nice + system, all cores) in
 * microseconds, from /proc/stat; interrupt time is left out, because the kernel charges it to no
 * process. Minus the CPU of the processes of a run, it is what the rest of the machine used.
 */
export function machineProcessCpuUs(): number {
  const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!
  const f = line.trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal ...
  return (f[0]! + f[1]! + f[2]!) * TICK_US
}

/** Write calls `pid` has made (write, writev, sendmsg …: `syscw` in /proc/<pid>/io). */
export function writeCalls(pid: number): number {
  const m = /syscw:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'latin1'))
  return m ? Number(m[1]) : Number.NaN
}

/** Bytes `pid` caused to be sent to storage (`write_bytes` in /proc/<pid>/io). */
export function storageWriteBytes(pid: number): number {
  const m = /\nwrite_bytes:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'latin1'))
  return m ? Number(m[1]) : Number.NaN
}

/**
 * Cache flushes the machine's disks completed (the 16th statistic of each whole disk in
 * /proc/diskstats, kernel 5.5+): what an fsync on a disk with a write-back cache costs. Counts
 * every process's syncs, so compare it with a run that syncs nothing.
 */
export function diskFlushes(): number {
  let sum = 0
  let seen = false
  for (const line of readFileSync('/proc/diskstats', 'latin1').split('\n')) {
    const f = line.trim().split(/\s+/)
    const name = f[2] ?? ''
    if (f.length < 20 || /^(loop|ram|zram|dm-)/.test(name) || !existsSync(`/sys/block/${name}`))
      continue
    sum += Number(f[18])
    seen = true
  }
  return seen ? sum : Number.NaN
}

/** Resident set size of `pid` in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1')
  const m = /VmRSS:\s+(\d+) kB/.exec(status)
  if (!m) throw new Error(`no VmRSS for pid ${pid}`)
  return Number(m[1]) * 1024
}

/** This process's CPU time (user + system) in microseconds. */
export function selfCpuUs(): number {
  const u = process.cpuUsage()
  return u.user + u.system
}

export interface MachineInfo {
  cpuModel: string
  cores: number
  memoryGiB: number
  node: string
  platform: string
  kernel: string
}

export function machineInfo(): MachineInfo {
  const list = cpus()
  let kernel = ''
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()
  } catch {}
  return {
    cpuModel: list[0]?.model ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    kernel,
  }
}

/** Load average over the last minute, to flag a busy machine in the report. */
export function loadAvg1(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0])
  } catch {
    return Number.NaN
  }
}
