// Measures the embedded stores considered for the durable broker's history journal: lmdb,
// classic-level (LevelDB) and node:sqlite (Node >= 22.13 only), in a temporary directory.
//   node --import tsx bench/store-candidates.ts [--only a,b] [--seconds S]
//   node --import tsx bench/store-candidates.ts --install   (fresh npm installs in a temp dir)
// Each candidate is loaded with a dynamic import and reported as 'not installed' when absent.
// Measured per candidate: group-commit publish throughput (N records per event-loop turn, one
// durable commit per turn, awaited before the next turn), reading the last 100 records of one
// channel, reopen (and full load) of 1,000 channels x 100 records, a SIGKILL crash smoke test,
// and what a truncated or garbled data file does (in a child process, so a crash is reported).
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  closeSync,
  cpSync,
  fdatasyncSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeSync,
} from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const SELF = fileURLToPath(import.meta.url)
const VALUE_BYTES = 128
const CHANNELS = 1000
const PER_CHANNEL = 100

// ---------------------------------------------------------------------------------------------
// The store interface every candidate is wrapped in

interface Store {
  /** Queues one record; `commit` makes every record queued since the last commit durable. */
  put(ch: number, seq: number, value: Buffer): void
  del(ch: number, seq: number): void
  commit(): Promise<void>
  /** The last `n` values of channel `ch`, newest first. */
  last(ch: number, n: number): Buffer[] | Promise<Buffer[]>
  /** Every record in key order. */
  scan(fn: (ch: number, seq: number, value: Buffer) => void): Promise<void>
  close(): Promise<void>
  /** What the store says about itself right after open (lmdb: its last page against the file). */
  info?(): Record<string, unknown>
}

interface Candidate {
  name: string
  module: string
  /** What an acknowledged (committed) turn means. */
  ack: string
  /** Runs the read, reopen and corruption tests (one variant per package does). */
  primary: boolean
  open(mod: unknown, dir: string): Promise<Store>
}

function key(ch: number, seq: number): Buffer {
  const k = Buffer.allocUnsafe(8)
  k.writeUInt32BE(ch, 0)
  k.writeUInt32BE(seq, 4)
  return k
}

/**
 * A deterministic record, so a reader can tell garbage from data: (channel, sequence), then
 * pseudo-random bytes seeded by them (incompressible, so LevelDB's Snappy gains nothing).
 */
function value(ch: number, seq: number): Buffer {
  const v = Buffer.allocUnsafe(VALUE_BYTES)
  v.writeUInt32BE(ch, 0)
  v.writeUInt32BE(seq, 4)
  let x = (ch * 2654435761 + seq * 40503 + 1) >>> 0 || 1
  for (let i = 8; i < VALUE_BYTES; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    v[i] = x & 0xff
  }
  return v
}

// lmdb ------------------------------------------------------------------------------------------

interface LmdbDb {
  put(k: Buffer, v: Buffer): Promise<boolean>
  remove(k: Buffer): Promise<boolean>
  flushed: PromiseLike<unknown>
  getRange(o: {
    start?: Buffer
    end?: Buffer
    reverse?: boolean
    limit?: number
  }): Iterable<{ key: Buffer; value: Buffer }>
  close(): Promise<void>
  getStats(): { pageSize: number; lastPageNumber: number }
}

function lmdb(name: string, overlappingSync: boolean, awaitFlushed: boolean, ack: string) {
  return {
    name,
    module: 'lmdb',
    ack,
    primary: overlappingSync && awaitFlushed,
    async open(mod: unknown, dir: string): Promise<Store> {
      const { open } = mod as { open(o: object): LmdbDb }
      const file = join(dir, 'data.mdb')
      const db = open({
        path: file,
        keyEncoding: 'binary',
        encoding: 'binary',
        overlappingSync,
      })
      let pending: Promise<boolean> | undefined
      return {
        info() {
          const { pageSize, lastPageNumber } = db.getStats()
          const needed = (lastPageNumber + 1) * pageSize
          return { lastPageNumber, fileShortBy: Math.max(0, needed - statSync(file).size) }
        },
        put(ch, seq, v) {
          pending = db.put(key(ch, seq), v)
        },
        del(ch, seq) {
          pending = db.remove(key(ch, seq))
        },
        async commit() {
          // All writes of one turn share one transaction and one promise.
          await pending
          pending = undefined
          if (awaitFlushed) await db.flushed
        },
        last(ch, n) {
          const out: Buffer[] = []
          for (const e of db.getRange({
            start: key(ch, 0xffffffff),
            end: key(ch, 0),
            reverse: true,
            limit: n,
          }))
            out.push(e.value)
          return out
        },
        async scan(fn) {
          for (const { key: k, value: v } of db.getRange({}))
            fn(k.readUInt32BE(0), k.length >= 8 ? k.readUInt32BE(4) : -1, v)
        },
        close: () => db.close(),
      }
    },
  } satisfies Candidate
}

// classic-level ---------------------------------------------------------------------------------

interface LevelDb {
  open(): Promise<void>
  batch(ops: object[], o: { sync: boolean }): Promise<void>
  values(o: object): { all(): Promise<Buffer[]> }
  iterator(o?: object): { nextv(n: number): Promise<[Buffer, Buffer][]>; close(): Promise<void> }
  close(): Promise<void>
}

const classicLevel = {
  name: 'classic-level (batch, sync: true)',
  module: 'classic-level',
  ack: 'batch written with sync: true (fsync of the log)',
  primary: true,
  async open(mod: unknown, dir: string): Promise<Store> {
    const { ClassicLevel } = mod as {
      ClassicLevel: new (p: string, o: object) => LevelDb
    }
    const db = new ClassicLevel(join(dir, 'level'), {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
    })
    await db.open()
    let ops: object[] = []
    return {
      put(ch, seq, v) {
        ops.push({ type: 'put', key: key(ch, seq), value: v })
      },
      del(ch, seq) {
        ops.push({ type: 'del', key: key(ch, seq) })
      },
      async commit() {
        const batch = ops
        ops = []
        await db.batch(batch, { sync: true })
      },
      last(ch, n) {
        return db
          .values({ gte: key(ch, 0), lte: key(ch, 0xffffffff), reverse: true, limit: n })
          .all()
      },
      async scan(fn) {
        const it = db.iterator()
        try {
          for (;;) {
            const entries = await it.nextv(1000)
            if (entries.length === 0) break
            for (const [k, v] of entries)
              fn(k.readUInt32BE(0), k.length >= 8 ? k.readUInt32BE(4) : -1, v)
          }
        } finally {
          await it.close()
        }
      },
      close: () => db.close(),
    }
  },
} satisfies Candidate

// node:sqlite -----------------------------------------------------------------------------------

interface SqliteStmt {
  run(...a: unknown[]): unknown
  all(...a: unknown[]): Record<string, unknown>[]
}
interface SqliteDb {
  exec(sql: string): void
  prepare(sql: string): SqliteStmt
  close(): void
}

function sqlite(synchronous: 'FULL' | 'NORMAL', ack: string) {
  return {
    name: `node:sqlite (WAL, synchronous=${synchronous})`,
    module: 'node:sqlite',
    ack,
    primary: synchronous === 'FULL',
    async open(mod: unknown, dir: string): Promise<Store> {
      const { DatabaseSync } = mod as { DatabaseSync: new (p: string) => SqliteDb }
      const db = new DatabaseSync(join(dir, 'store.db'))
      db.exec('PRAGMA journal_mode=WAL')
      db.exec(`PRAGMA synchronous=${synchronous}`)
      db.exec(
        'CREATE TABLE IF NOT EXISTS h (ch INTEGER NOT NULL, seq INTEGER NOT NULL, v BLOB NOT NULL, PRIMARY KEY (ch, seq)) WITHOUT ROWID',
      )
      const ins = db.prepare('INSERT OR REPLACE INTO h (ch, seq, v) VALUES (?, ?, ?)')
      const rm = db.prepare('DELETE FROM h WHERE ch = ? AND seq = ?')
      const lastQ = db.prepare('SELECT v FROM h WHERE ch = ? ORDER BY seq DESC LIMIT ?')
      const allQ = db.prepare('SELECT ch, seq, v FROM h ORDER BY ch, seq')
      let ops: (() => void)[] = []
      const buf = (u: unknown) => {
        const a = u as Uint8Array
        return Buffer.from(a.buffer, a.byteOffset, a.byteLength)
      }
      return {
        put(ch, seq, v) {
          ops.push(() => ins.run(ch, seq, v))
        },
        del(ch, seq) {
          ops.push(() => rm.run(ch, seq))
        },
        async commit() {
          // One transaction per turn; node:sqlite is synchronous, so the fsync blocks the loop.
          const batch = ops
          ops = []
          db.exec('BEGIN')
          for (const op of batch) op()
          db.exec('COMMIT')
        },
        last(ch, n) {
          return lastQ.all(ch, n).map((r) => buf(r.v))
        },
        async scan(fn) {
          for (const r of allQ.all()) fn(Number(r.ch), Number(r.seq), buf(r.v))
        },
        async close() {
          db.close()
        },
      }
    },
  } satisfies Candidate
}

const CANDIDATES: Candidate[] = [
  lmdb(
    'lmdb (default, await db.flushed)',
    true,
    true,
    'commit, then db.flushed (overlappingSync: fsync after the commit, awaited)',
  ),
  lmdb(
    'lmdb (default, await put only)',
    true,
    false,
    'commit visible; NOT yet fsynced (overlappingSync flushes after)',
  ),
  lmdb(
    'lmdb (overlappingSync: false)',
    false,
    false,
    'commit with fsync inside the write transaction',
  ),
  classicLevel,
  sqlite('FULL', 'COMMIT with WAL fsync on every commit'),
  sqlite('NORMAL', 'COMMIT; WAL fsynced only at checkpoints (not durable against power loss)'),
]

async function load(spec: string): Promise<unknown> {
  try {
    // A variable specifier, so the type checker does not need the candidate's types.
    return await import(spec)
  } catch (e) {
    const code = (e as { code?: string }).code
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_UNKNOWN_BUILTIN_MODULE')
      return 'not installed'
    return `failed to load: ${(e as Error).message.split('\n')[0]}`
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `sb-store-${tag}-`))
}

function duBytes(dir: string): number {
  let total = 0
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue
    total +=
      statSync(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)).blocks * 512
  }
  return total
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

function median(xs: number[]): number {
  return pct(
    [...xs].sort((a, b) => a - b),
    50,
  )
}

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 })
    : '–'

const turn = () => new Promise<void>((r) => setImmediate(r))

async function populate(store: Store): Promise<void> {
  for (let ch = 0; ch < CHANNELS; ch++) {
    for (let seq = 1; seq <= PER_CHANNEL; seq++) store.put(ch, seq, value(ch, seq))
    if (ch % 10 === 9) await store.commit()
  }
  await store.commit()
}

// ---------------------------------------------------------------------------------------------
// 1. Group-commit publish throughput

interface Throughput {
  n: number
  records: number
  commits: number
  seconds: number
  p50: number
  p99: number
}

async function throughput(c: Candidate, mod: unknown, n: number, seconds: number) {
  const dir = tempDir('tp')
  const store = await c.open(mod, dir)
  const channels = 64
  const keep = 100
  const top = new Array<number>(channels).fill(0)
  let next = 0
  const lat: number[] = []
  let records = 0
  const oneTurn = async () => {
    const t0 = performance.now()
    for (let i = 0; i < n; i++) {
      const ch = next++ % channels
      const seq = ++top[ch]!
      store.put(ch, seq, value(ch, seq))
      if (seq > keep) store.del(ch, seq - keep) // bounded history
    }
    await store.commit()
    return performance.now() - t0
  }
  const warmEnd = performance.now() + 300
  while (performance.now() < warmEnd) {
    await oneTurn()
    await turn()
  }
  const start = performance.now()
  const end = start + seconds * 1000
  while (performance.now() < end) {
    lat.push(await oneTurn())
    records += n
    await turn() // the next publications arrive in a later event-loop turn
  }
  const elapsed = (performance.now() - start) / 1000
  await store.close()
  rmSync(dir, { recursive: true, force: true })
  lat.sort((a, b) => a - b)
  return {
    n,
    records,
    commits: lat.length,
    seconds: elapsed,
    p50: pct(lat, 50),
    p99: pct(lat, 99),
  } satisfies Throughput
}

// 2 and 3. Range read and reopen, on 1,000 channels x 100 records ------------------------------

async function readAndReopen(c: Candidate, mod: unknown, seconds: number, dir: string) {
  let store = await c.open(mod, dir)
  const p0 = performance.now()
  await populate(store)
  const populateMs = performance.now() - p0
  // Range read: the last 100 records of a random channel.
  let ops = 0
  let wrong = 0
  const start = performance.now()
  const end = start + seconds * 1000
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) {
      const ch = (ops * 7919) % CHANNELS
      const r = store.last(ch, 100)
      const got = r instanceof Promise ? await r : r
      if (got.length !== 100 || got[0]!.readUInt32BE(4) !== PER_CHANNEL) wrong++
      ops++
    }
  }
  const readOps = ops / ((performance.now() - start) / 1000)
  await store.close()
  const bytes = duBytes(dir)
  // Reopen: open alone, and open plus loading every record (what a broker does at start).
  const openMs: number[] = []
  const loadMs: number[] = []
  let loaded = 0
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now()
    store = await c.open(mod, dir)
    const t1 = performance.now()
    loaded = 0
    await store.scan(() => {
      loaded++
    })
    const t2 = performance.now()
    await store.close()
    openMs.push(t1 - t0)
    loadMs.push(t2 - t0)
  }
  return {
    populateMs,
    readOps,
    readWrong: wrong,
    bytes,
    openMs: median(openMs),
    loadMs: median(loadMs),
    loaded,
  }
}

// ---------------------------------------------------------------------------------------------
// Child processes

function runChild(
  args: string[],
  timeoutMs: number,
  onLine?: (line: string, child: ChildProcess) => void,
): Promise<{ code: number | null; signal: string | null; lines: string[]; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SELF, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    })
    const lines: string[] = []
    let rest = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8')
    child.stdout!.on('data', (d: string) => {
      rest += d
      let i = rest.indexOf('\n')
      while (i >= 0) {
        const line = rest.slice(0, i)
        rest = rest.slice(i + 1)
        lines.push(line)
        onLine?.(line, child)
        i = rest.indexOf('\n')
      }
    })
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (d: string) => {
      stderr += d
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (rest) lines.push(rest)
      resolve({ code, signal, lines, stderr })
    })
  })
}

function report(o: object) {
  process.stdout.write(`${JSON.stringify(o)}\n`)
}

/** Child: writes 8 records per turn, prints each acknowledged turn, until killed. */
async function childWriter(c: Candidate, mod: unknown, dir: string) {
  const store = await c.open(mod, dir)
  let seq = 0
  report({ step: 'open' })
  for (;;) {
    for (let i = 0; i < 8; i++) {
      seq++
      store.put(seq % 16, seq, value(seq % 16, seq))
    }
    await store.commit()
    process.stdout.write(`ack ${seq}\n`) // synchronous on a pipe on Linux
    await turn()
  }
}

/** Child: opens, reads everything, checks it, reads a few ranges, writes and commits. */
async function childCheck(c: Candidate, mod: unknown, dir: string, expected: string) {
  let store: Store
  try {
    store = await c.open(mod, dir)
    report({ step: 'open', ok: true, ...store.info?.() })
  } catch (e) {
    report({ step: 'open', ok: false, error: (e as Error).message.split('\n')[0] })
    return
  }
  let count = 0
  let garbage = 0
  const seen = new Set<number>()
  let maxSeq = 0
  try {
    await store.scan((ch, seq, v) => {
      count++
      if (!v.equals(value(ch, seq))) garbage++
      else {
        seen.add(ch * 1_000_000 + seq)
        if (seq > maxSeq) maxSeq = seq
      }
    })
    report({ step: 'scan', ok: true, count, garbage, valid: seen.size })
  } catch (e) {
    report({
      step: 'scan',
      ok: false,
      count,
      garbage,
      error: (e as Error).message.split('\n')[0],
    })
  }
  if (!expected.startsWith('acked:'))
    report({ step: 'loss', missing: CHANNELS * PER_CHANNEL - seen.size })
  if (expected.startsWith('acked:')) {
    // Crash test: every acknowledged sequence number must be present.
    const acked = Number(expected.slice(6))
    let missing = 0
    for (let s = 1; s <= acked; s++) if (!seen.has((s % 16) * 1_000_000 + s)) missing++
    report({ step: 'acked', acked, missing, present: seen.size, maxSeq })
  } else {
    let rangeGarbage = 0
    let rangeShort = 0
    try {
      for (let ch = 0; ch < CHANNELS; ch += 10) {
        const r = store.last(ch, 100)
        const got = r instanceof Promise ? await r : r
        if (got.length < 100) rangeShort++
        for (const v of got)
          if (v.length !== VALUE_BYTES || !v.equals(value(ch, v.readUInt32BE(4)))) rangeGarbage++
      }
      report({
        step: 'ranges',
        ok: true,
        of: CHANNELS / 10,
        short: rangeShort,
        garbage: rangeGarbage,
      })
    } catch (e) {
      report({ step: 'ranges', ok: false, error: (e as Error).message.split('\n')[0] })
    }
    try {
      for (let ch = 0; ch < CHANNELS; ch++)
        store.put(ch, PER_CHANNEL + 1, value(ch, PER_CHANNEL + 1))
      await store.commit()
      report({ step: 'write', ok: true })
    } catch (e) {
      report({ step: 'write', ok: false, error: (e as Error).message.split('\n')[0] })
    }
  }
  try {
    await store.close()
    report({ step: 'close', ok: true })
  } catch (e) {
    report({ step: 'close', ok: false, error: (e as Error).message.split('\n')[0] })
  }
}

// 4. Crash smoke test ---------------------------------------------------------------------------

async function crash(c: Candidate) {
  const rounds: { acked: number; present: number; missing: number; note: string }[] = []
  for (let r = 0; r < 3; r++) {
    const dir = tempDir('crash')
    let acked = 0
    const killAfter = 600 + r * 400
    let killTimer: NodeJS.Timeout | undefined
    const w = await runChild(['--child', 'writer', c.name, dir], 20_000, (line, child) => {
      if (line.startsWith('ack ')) acked = Number(line.slice(4))
      else if (line.includes('"open"'))
        killTimer = setTimeout(() => child.kill('SIGKILL'), killAfter)
    })
    clearTimeout(killTimer)
    const chk = await runChild(['--child', 'check', c.name, dir, `acked:${acked}`], 60_000)
    const res = chk.lines.map(parseLine).find((o) => o?.step === 'acked')
    rounds.push({
      acked,
      present: Number(res?.present ?? Number.NaN),
      missing: Number(res?.missing ?? Number.NaN),
      note:
        `writer ${w.signal ?? `exit ${w.code}`}` +
        (res ? '' : `; reopen: ${describeChild(chk)}`) +
        (w.signal === 'SIGKILL' ? '' : `; ${w.stderr.trim().split('\n').slice(-1)[0] ?? ''}`),
    })
    rmSync(dir, { recursive: true, force: true })
  }
  return rounds
}

function parseLine(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>
  } catch {
    return undefined
  }
}

function describeChild(r: Awaited<ReturnType<typeof runChild>>): string {
  const steps = r.lines
    .map(parseLine)
    .filter((o): o is Record<string, unknown> => o !== undefined)
    .map((o) => {
      const { step, ok, error, ...rest } = o
      const extra = Object.entries(rest)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')
      return `${step}: ${ok === false ? `THREW "${error}"` : 'ok'}${extra ? ` (${extra})` : ''}`
    })
  const end =
    r.signal !== null
      ? `process killed by ${r.signal}`
      : r.code === 0
        ? 'exit 0'
        : `exit ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' / ').slice(0, 300)}`
  return [...steps, end].join('; ')
}

// 5. Truncated and garbled data file ------------------------------------------------------------

function largestFile(dir: string): { file: string; size: number } {
  let best = { file: '', size: -1 }
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue
    const file = join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)
    const size = statSync(file).size
    if (size > best.size) best = { file, size }
  }
  return best
}

async function corruption(c: Candidate, populated: string) {
  const out: { case: string; file: string; outcome: string }[] = []
  const cases: [string, (file: string, size: number) => void][] = [
    ['truncated to half', (f, size) => truncateSync(f, Math.floor(size / 2))],
    ['4 KB garbled mid-file (1)', (f, size) => garble(f, size / 2)],
    ['4 KB garbled mid-file (2)', (f, size) => garble(f, size / 2)],
    ['4 KB garbled at 1/4 of the file', (f, size) => garble(f, size / 4)],
    ['4 KB garbled at 3/4 of the file', (f, size) => garble(f, (size * 3) / 4)],
  ]
  for (const [name, damage] of cases) {
    const dir = tempDir('bad')
    cpSync(populated, dir, { recursive: true })
    const { file, size } = largestFile(dir)
    damage(file, size)
    const r = await runChild(['--child', 'check', c.name, dir, 'full'], 60_000)
    out.push({
      case: name,
      file: `${file.slice(dir.length + 1)} (${fmt(size / 1024)} KiB)`,
      outcome: describeChild(r),
    })
    rmSync(dir, { recursive: true, force: true })
  }
  return out
}

/** Overwrites the 4 KiB page around `offset` with random bytes. */
function garble(file: string, offset: number) {
  const at = Math.floor(offset / 4096) * 4096
  const fd = openSync(file, 'r+')
  writeSync(fd, randomBytes(4096), 0, 4096, at)
  closeSync(fd)
}

/** What the disk under the temp dir gives: 4 KiB writes each followed by fdatasync. */
function fsyncBaseline(seconds: number) {
  const dir = tempDir('fsync')
  const fd = openSync(join(dir, 'f'), 'w')
  const page = randomBytes(4096)
  const lat: number[] = []
  const start = performance.now()
  while (performance.now() - start < seconds * 1000) {
    const t0 = performance.now()
    writeSync(fd, page, 0, 4096, (lat.length % 256) * 4096)
    fdatasyncSync(fd)
    lat.push(performance.now() - t0)
  }
  const elapsed = (performance.now() - start) / 1000
  closeSync(fd)
  rmSync(dir, { recursive: true, force: true })
  lat.sort((a, b) => a - b)
  return `raw 4 KiB write + fdatasync: ${fmt(lat.length / elapsed)}/s, p50 ${fmt(pct(lat, 50), 3)} ms, p99 ${fmt(pct(lat, 99), 3)} ms`
}

// ---------------------------------------------------------------------------------------------
// 6. Install facts (needs the npm registry)

function installFacts() {
  const nodeDir = dirname(process.execPath)
  for (const spec of ['lmdb@3.5.6', 'classic-level@3']) {
    const dir = tempDir('install')
    const name = spec.slice(0, spec.lastIndexOf('@'))
    const npm = spawnSync(
      'npm',
      ['install', '--no-audit', '--no-fund', '--no-package-lock', '--prefix', dir, spec],
      { encoding: 'utf8' },
    )
    const npmOut = `${npm.stdout}${npm.stderr}`
    const nm = join(dir, 'node_modules')
    const pkg = JSON.parse(readFileSync(join(nm, name, 'package.json'), 'utf8')) as {
      version: string
      scripts?: Record<string, string>
      gypfile?: boolean
      optionalDependencies?: Record<string, string>
    }
    const natives: string[] = []
    for (const e of readdirSync(nm, { withFileTypes: true, recursive: true })) {
      if (!e.isFile() || !e.name.endsWith('.node')) continue
      const f = join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)
      natives.push(`${f.slice(nm.length + 1)} ${fmt(statSync(f).size / 1024)} KiB`)
    }
    const packages = readdirSync(nm).flatMap((d) =>
      d.startsWith('@') ? readdirSync(join(nm, d)).map((s) => `${d}/${s}`) : [d],
    )
    // The install script run as npm would (node_modules/.bin on PATH), but with only node
    // besides: no cc, make, python or node-gyp, so any attempt to compile fails.
    let scriptResult = 'no install script'
    const script = pkg.scripts?.install
    if (script) {
      try {
        execFileSync('/bin/sh', ['-c', script], {
          cwd: join(nm, name),
          env: { PATH: `${join(nm, '.bin')}:${nodeDir}`, HOME: dir },
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: 60_000,
        })
        scriptResult = `\`${script}\` exits 0 with no compiler or node-gyp on PATH (prebuilt binary loads, nothing compiled)`
      } catch (e) {
        scriptResult = `\`${script}\` fails with no compiler or node-gyp on PATH: ${String((e as { stderr?: string }).stderr ?? e).slice(0, 300)}`
      }
    }
    let loads = ''
    try {
      loads = execFileSync(
        process.execPath,
        ['--input-type=module', '-e', `await import(${JSON.stringify(name)}); console.log('ok')`],
        { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      ).trim()
    } catch (e) {
      loads = String((e as { stderr?: string }).stderr ?? e).slice(0, 200)
    }
    console.log(`\n### ${spec} (installed ${pkg.version}) on Node ${process.version}`)
    console.log(`install script: ${script ?? '(none)'}; gypfile: ${pkg.gypfile ?? false}`)
    console.log(
      `optionalDependencies: ${Object.keys(pkg.optionalDependencies ?? {}).join(', ') || '(none)'}`,
    )
    console.log(`npm said: ${npmOut.trim().split('\n').join(' / ') || '(nothing)'}`)
    console.log(`packages installed: ${packages.length} (${packages.join(', ')})`)
    console.log(`node_modules on disk: ${fmt(duBytes(nm) / 2 ** 20, 1)} MiB`)
    console.log(`package itself: ${fmt(duBytes(join(nm, name)) / 2 ** 20, 1)} MiB`)
    console.log(`native binaries: ${natives.length}\n  ${natives.join('\n  ')}`)
    console.log(`install script check: ${scriptResult}`)
    console.log(`import after install: ${loads}`)
    rmSync(dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------
// Main

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    only: { type: 'string' },
    seconds: { type: 'string', default: '3' },
    install: { type: 'boolean', default: false },
    child: { type: 'string' },
  },
})

if (args.child) {
  const [name, dir, expected] = positionals as [string, string, string?]
  const c = CANDIDATES.find((x) => x.name === name)!
  const mod = await load(c.module)
  if (typeof mod === 'string') throw new Error(mod)
  if (args.child === 'writer') await childWriter(c, mod, dir)
  else await childCheck(c, mod, dir, expected ?? 'full')
} else if (args.install) {
  installFacts()
} else {
  await main()
}

async function main() {
  const seconds = Number(args.seconds)
  const only = args.only?.split(',')
  const cpu = cpus()
  console.log(
    `# Embedded store candidates — ${new Date().toISOString()}, Node ${process.version}, ${cpu.length} x ${cpu[0]?.model}, temp dir ${tmpdir()}`,
  )
  console.log(
    `records of ${VALUE_BYTES} bytes, 8-byte keys (channel, sequence); ${seconds} s per throughput run`,
  )
  console.log(`load average at start: ${readFileSync('/proc/loadavg', 'utf8').trim()}`)
  console.log(fsyncBaseline(Math.min(seconds, 2)))
  const tpRows: string[] = []
  const readRows: string[] = []
  const crashRows: string[] = []
  const badRows: string[] = []
  for (const c of CANDIDATES) {
    if (only && !only.some((o) => c.name.includes(o))) continue
    const mod = await load(c.module)
    if (typeof mod === 'string') {
      tpRows.push(`| ${c.name} | ${mod} | | | | | | |`)
      console.log(`${c.name}: ${mod}`)
      continue
    }
    console.log(`\n## ${c.name} — ack: ${c.ack}`)
    for (const n of [1, 32]) {
      const t = await throughput(c, mod, n, seconds)
      const line = `| ${c.name} | ${n} | ${fmt(t.records / t.seconds)} | ${fmt(t.commits / t.seconds)} | ${fmt(t.p50, 2)} | ${fmt(t.p99, 2)} | ${c.ack} |`
      tpRows.push(line)
      console.log(line)
    }
    const cr = await crash(c)
    const crLine = `| ${c.name} | ${cr.map((r) => `${fmt(r.acked)} acked / ${fmt(r.present)} present / ${fmt(r.missing)} missing`).join('; ')} | ${cr.map((r) => r.note).join('; ')} |`
    crashRows.push(crLine)
    console.log(crLine)
    if (!c.primary) continue
    const dir = tempDir('data')
    const rr = await readAndReopen(c, mod, Math.min(seconds, 2), dir)
    const rLine = `| ${c.name} | ${fmt(rr.readOps)} | ${fmt(rr.populateMs)} | ${fmt(rr.bytes / 2 ** 20, 1)} | ${fmt(rr.openMs, 1)} | ${fmt(rr.loadMs, 1)} | ${fmt(rr.loaded)} |${rr.readWrong ? ` ${rr.readWrong} wrong reads` : ''}`
    readRows.push(rLine)
    console.log(rLine)
    for (const b of await corruption(c, dir)) {
      const line = `| ${c.name} | ${b.case} | ${b.file} | ${b.outcome} |`
      badRows.push(line)
      console.log(line)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  console.log(
    '\n### Group-commit publish (64 channels, 100 kept each: every append past 100 also deletes the oldest)\n',
  )
  console.log(
    '| store | records / turn | records/s | commits/s | commit p50 ms | commit p99 ms | ack means |',
  )
  console.log('| --- | --- | --- | --- | --- | --- | --- |')
  for (const r of tpRows) console.log(r)
  console.log(`\n### Read and reopen (${CHANNELS} channels x ${PER_CHANNEL} records)\n`)
  console.log(
    '| store | last-100 reads/s | populate ms (1,000-record commits) | on disk MiB | reopen ms (median of 5) | reopen + load all ms | records loaded |',
  )
  console.log('| --- | --- | --- | --- | --- | --- | --- |')
  for (const r of readRows) console.log(r)
  console.log('\n### SIGKILL crash smoke (3 rounds: writer killed after 0.6, 1.0, 1.4 s)\n')
  console.log('| store | acknowledged / present after reopen / acknowledged but missing | notes |')
  console.log('| --- | --- | --- |')
  for (const r of crashRows) console.log(r)
  console.log(
    '\n### Damaged data file (child process: open, read all, read ranges, write, close)\n',
  )
  console.log('| store | damage | file | what happened |')
  console.log('| --- | --- | --- | --- |')
  for (const r of badRows) console.log(r)
}
