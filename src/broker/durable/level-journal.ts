import { ClassicLevel } from 'classic-level'
import { Packr } from 'msgpackr'
import type { ClientInfo, Publication } from '../../protocol/index.ts'
import { isValidEpoch } from '../../protocol/index.ts'
import { type HistoryOptions, randomEpoch } from '../broker.ts'
import type { Journal, JournalKey, JournalStream } from '../journal.ts'

/** A stream's position and limits, as stored under `m:<channel>`. */
interface MetaRecord {
  readonly e: string
  readonly o: number
  readonly s?: number
  readonly t?: number
  /** Volatile: a channel without history whose offsets are not stored. */
  readonly v?: 1
}

/** A kept publication, as stored under `p:<channel>\0<offset, 13 hex digits>`. */
interface PubRecord {
  readonly d: unknown
  readonly m: number
  readonly i?: ClientInfo
  readonly k?: string
}

/** Thrown by `load` when what is on disk cannot be trusted; the broker starts over. */
export class CorruptJournalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'CorruptJournalError'
  }
}

type Op =
  | { readonly type: 'put'; readonly key: string; readonly value: Buffer }
  | { readonly type: 'del'; readonly key: string }

/** Present while a process that delivers before committing runs (`deliversEarly`). */
const UNCLEAN = 'u:unclean'

const packr = new Packr({ useRecords: false, moreTypes: false })

const metaKey = (channel: string) => `m:${channel}`
const pubKey = (channel: string, offset: number) =>
  `p:${channel}\u0000${offset.toString(16).padStart(13, '0')}`

/**
 * The durable broker's journal on LevelDB (`classic-level`: prebuilt binaries from npm). Every
 * write of one event-loop turn goes into one batch written with `sync: true` (an fsync), and their
 * promises resolve when it is on disk: the group commit publishes are answered on. Batches are
 * written one after another, so commits keep the order of the calls. LevelDB checksums its blocks:
 * damaged data makes reads fail with an error instead of returning garbage or crashing the
 * process (measured against LMDB in BENCHMARKS.md, "Embedded store candidates").
 */
export class LevelJournal implements Journal {
  readonly #db: ClassicLevel<string, Buffer>
  /** Writes of this turn, waiting for the next batch. */
  #ops: Op[] = []
  /** Index in `#ops` of each channel's position record in the batch being gathered. */
  #metaAt = new Map<string, number>()
  #waiters: { resolve: () => void; reject: (err: unknown) => void }[] = []
  #scheduled = false
  /** The batch being written (the next one starts when it is done). */
  #writing: Promise<void> | null = null
  /** Per channel, the lowest offset that may still have a record (trims start there). */
  readonly #low = new Map<string, number>()
  /** Per channel, the limits last stored (written with each position). */
  readonly #limits = new Map<string, HistoryOptions>()

  readonly deliversEarly: boolean

  constructor(dir: string, deliversEarly = false) {
    this.deliversEarly = deliversEarly
    this.#db = new ClassicLevel<string, Buffer>(dir, {
      keyEncoding: 'utf8',
      valueEncoding: 'buffer',
    })
  }

  async load(now: number): Promise<{ streams: JournalStream[]; keys: JournalKey[] }> {
    await this.#db.open()
    // Set while a process that delivers before committing runs; still there after a crash.
    const unclean = (await this.#db.get(UNCLEAN)) !== undefined
    const out: JournalStream[] = []
    const keys: JournalKey[] = []
    const drop: [string, number][] = []
    try {
      for await (const [key, bytes] of this.#db.iterator({ gte: 'm:', lt: 'm;' })) {
        const channel = key.slice(2)
        const meta = packr.unpack(bytes) as unknown
        if (!validMeta(meta)) throw new CorruptJournalError(`bad stream record for ${channel}`)
        if (meta.v === 1) {
          // A channel without history stores no offsets as it goes: it comes back in a new epoch.
          drop.push([channel, meta.o])
          continue
        }
        if (meta.s === undefined || meta.t === undefined) {
          // Seen by a read, never published to: its epoch and position hold.
          this.#low.set(channel, meta.o + 1)
          out.push({ channel, epoch: meta.e, top: meta.o, limits: undefined, entries: [] })
          continue
        }
        const limits = { size: meta.s, ttl: meta.t }
        const entries: Publication[] = []
        const stale: number[] = []
        const range = { gte: `p:${channel}\u0000`, lt: `p:${channel}\u0001` }
        for await (const [k, v] of this.#db.iterator(range)) {
          const offset = Number.parseInt(k.slice(k.lastIndexOf('\u0000') + 1), 16)
          const rec = packr.unpack(v) as unknown
          if (!Number.isInteger(offset) || offset < 1 || offset > meta.o || !validPub(rec)) {
            throw new CorruptJournalError(`bad publication record in ${channel}`)
          }
          if (rec.m < now - limits.ttl) stale.push(offset)
          else entries.push(toPublication(offset, rec))
        }
        while (entries.length > limits.size) stale.push(entries.shift()!.offset)
        for (let i = 1; i < entries.length; i++) {
          if (entries[i]!.offset !== entries[i - 1]!.offset + 1) {
            throw new CorruptJournalError(`publications missing inside the history of ${channel}`)
          }
        }
        if (entries.length > 0 && entries.at(-1)!.offset !== meta.o) {
          throw new CorruptJournalError(`the newest publications of ${channel} are missing`)
        }
        for (const offset of stale) this.#queue({ type: 'del', key: pubKey(channel, offset) })
        this.#low.set(channel, entries[0]?.offset ?? meta.o + 1)
        this.#limits.set(channel, limits)
        out.push({ channel, epoch: meta.e, top: meta.o, limits, entries })
      }
      for await (const [key, bytes] of this.#db.iterator({ gte: 'i:', lt: 'i;' })) {
        const rec = packr.unpack(bytes) as { o?: unknown; e?: unknown; x?: unknown }
        if (!Number.isInteger(rec?.o) || typeof rec.e !== 'string' || !Number.isFinite(rec.x)) {
          throw new CorruptJournalError('bad idempotency key record')
        }
        if ((rec.x as number) <= now) this.#queue({ type: 'del', key })
        else
          keys.push({
            name: key.slice(2),
            offset: rec.o as number,
            epoch: rec.e,
            expires: rec.x as number,
          })
      }
    } catch (err) {
      if (err instanceof CorruptJournalError) throw err
      throw new CorruptJournalError('the data could not be read', { cause: err })
    }
    for (const [channel, top] of drop) this.drop(channel, top).catch(noop)
    if (unclean) {
      // The last run delivered publications before they were on disk and did not stop cleanly:
      // a client may hold one the crash lost. Every stream goes on in a new epoch (its history
      // kept), so no offset is ever reused under an epoch a client knows.
      for (let i = 0; i < out.length; i++) {
        const stream = { ...out[i]!, epoch: randomEpoch() }
        out[i] = stream
        this.#putMeta(stream.channel, stream.epoch, stream.top)
      }
    }
    if (this.deliversEarly) this.#queue({ type: 'put', key: UNCLEAN, value: Buffer.of(1) })
    else if (unclean) this.#queue({ type: 'del', key: UNCLEAN })
    await this.#commit()
    keys.sort((a, b) => a.expires - b.expires)
    return { streams: out, keys }
  }

  append(
    channel: string,
    epoch: string,
    pub: Publication,
    limits: HistoryOptions | undefined,
    key?: JournalKey,
  ): Promise<void> {
    if (key !== undefined) {
      this.#queue({
        type: 'put',
        key: `i:${key.name}`,
        value: packr.pack({ o: key.offset, e: key.epoch, x: key.expires }),
      })
    }
    if (limits !== undefined) {
      this.#limits.set(channel, limits)
      const rec: { d: unknown; m: number; i?: ClientInfo; k?: string } = {
        d: pub.data,
        m: pub.time ?? Date.now(),
      }
      if (pub.info !== undefined) rec.i = pub.info
      if (pub.key !== undefined) rec.k = pub.key
      this.#queue({ type: 'put', key: pubKey(channel, pub.offset), value: packr.pack(rec) })
      if (!this.#low.has(channel)) this.#low.set(channel, pub.offset)
    }
    this.#putMeta(channel, epoch, pub.offset, limits === undefined)
    return this.#commit()
  }

  forgetKey(name: string): Promise<void> {
    this.#queue({ type: 'del', key: `i:${name}` })
    return this.#commit()
  }

  position(channel: string, epoch: string, top: number): Promise<void> {
    this.#putMeta(channel, epoch, top)
    return this.#commit()
  }

  trim(channel: string, firstKept: number): Promise<void> {
    const low = this.#low.get(channel)
    if (low === undefined || low >= firstKept) return Promise.resolve()
    this.#low.set(channel, firstKept)
    for (let offset = low; offset < firstKept; offset++) {
      this.#queue({ type: 'del', key: pubKey(channel, offset) })
    }
    return this.#commit()
  }

  drop(channel: string, top: number): Promise<void> {
    // Queued now, not after a read: a publication of a new stream on this channel later in the
    // same turn must land after these deletes.
    const low = this.#low.get(channel)
    if (low !== undefined) {
      for (let offset = low; offset <= top; offset++) {
        this.#queue({ type: 'del', key: pubKey(channel, offset) })
      }
    }
    this.#low.delete(channel)
    this.#limits.delete(channel)
    this.#queue({ type: 'del', key: metaKey(channel) })
    // A position written after this in the same batch must come after the delete.
    this.#metaAt.delete(channel)
    return this.#commit()
  }

  async close(): Promise<void> {
    if (this.deliversEarly) this.#queue({ type: 'del', key: UNCLEAN })
    if (this.#ops.length > 0 || this.#writing !== null || this.deliversEarly) await this.#commit()
    await this.#db.close()
  }

  #putMeta(channel: string, epoch: string, top: number, volatile = false): void {
    const limits = this.#limits.get(channel)
    const rec: MetaRecord =
      limits !== undefined
        ? { e: epoch, o: top, s: limits.size, t: limits.ttl }
        : volatile
          ? { e: epoch, o: top, v: 1 }
          : { e: epoch, o: top }
    const op: Op = { type: 'put', key: metaKey(channel), value: packr.pack(rec) }
    // One position per channel per batch: a later one in the same turn replaces it.
    const at = this.#metaAt.get(channel)
    if (at !== undefined) this.#ops[at] = op
    else {
      this.#metaAt.set(channel, this.#ops.length)
      this.#ops.push(op)
    }
  }

  #queue(op: Op): void {
    this.#ops.push(op)
  }

  /** Resolves when everything queued so far is on disk (with this turn's other writes). */
  #commit(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }))
    if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(writeBatch, this)
    }
    return done
  }

  /** @internal Writes the turn's batch once the one before it is on disk. */
  async writeBatch(): Promise<void> {
    if (this.#writing !== null) await this.#writing.catch(noop)
    this.#scheduled = false
    const ops = this.#ops
    const waiters = this.#waiters
    this.#ops = []
    this.#metaAt = new Map()
    this.#waiters = []
    if (waiters.length === 0 && ops.length === 0) return
    const writing = ops.length === 0 ? Promise.resolve() : this.#db.batch(ops, { sync: true })
    this.#writing = writing
    try {
      await writing
      for (const w of waiters) w.resolve()
    } catch (err) {
      for (const w of waiters) w.reject(err)
    } finally {
      if (this.#writing === writing) this.#writing = null
    }
  }
}

function writeBatch(journal: LevelJournal): void {
  void journal.writeBatch()
}

function noop(): void {}

function validMeta(m: unknown): m is MetaRecord {
  if (typeof m !== 'object' || m === null) return false
  const r = m as Record<string, unknown>
  return (
    typeof r.e === 'string' &&
    isValidEpoch(r.e) &&
    Number.isInteger(r.o) &&
    (r.o as number) >= 0 &&
    (r.s === undefined || Number.isInteger(r.s)) &&
    (r.t === undefined || Number.isInteger(r.t)) &&
    (r.v === undefined || r.v === 1)
  )
}

function validPub(v: unknown): v is PubRecord {
  if (typeof v !== 'object' || v === null) return false
  const r = v as Record<string, unknown>
  return 'd' in r && Number.isFinite(r.m) && (r.k === undefined || typeof r.k === 'string')
}

function toPublication(offset: number, r: PubRecord): Publication {
  const pub: { offset: number; data: unknown; time: number; info?: ClientInfo; key?: string } = {
    offset,
    data: r.d,
    time: r.m,
  }
  if (r.i !== undefined) pub.info = r.i
  if (r.k !== undefined) pub.key = r.k
  return pub
}
