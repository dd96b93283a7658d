import { type Database, open, type RootDatabase } from 'lmdb'
import type { ClientInfo, Publication } from '../../protocol/index.ts'
import { isValidEpoch } from '../../protocol/index.ts'
import type { HistoryOptions } from '../broker.ts'
import type { Journal, JournalStream } from '../journal.ts'

/** A stream's position and limits, as stored (`meta` database, keyed by channel). */
interface MetaRecord {
  readonly e: string
  readonly o: number
  readonly s?: number
  readonly t?: number
}

/** A kept publication, as stored (`pubs` database, keyed by `[channel, offset]`). */
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

/**
 * The durable broker's journal on LMDB (`lmdb` package: prebuilt binaries from npm, memory-mapped
 * B-tree, crash-safe copy-on-write commits). lmdb-js gathers every write of one event-loop turn
 * into one transaction and resolves their promises when it is synced to disk: that is the group
 * commit the broker answers publishes on. Two databases: `meta` (channel -> epoch, top offset,
 * limits) and `pubs` (`[channel, offset]` -> publication).
 */
export class LmdbJournal implements Journal {
  readonly #root: RootDatabase
  readonly #meta: Database<MetaRecord, string>
  readonly #pubs: Database<PubRecord, [string, number]>
  /** Per channel, the lowest offset that may still have a record (trims start there). */
  readonly #low = new Map<string, number>()
  /** Per channel, the limits last stored (written with each position). */
  readonly #limits = new Map<string, HistoryOptions>()

  constructor(dir: string) {
    this.#root = open({ path: dir, compression: false })
    this.#meta = this.#root.openDB<MetaRecord, string>({ name: 'meta' })
    this.#pubs = this.#root.openDB<PubRecord, [string, number]>({ name: 'pubs' })
  }

  async load(now: number): Promise<JournalStream[]> {
    const out: JournalStream[] = []
    try {
      for (const { key: channel, value: meta } of this.#meta.getRange()) {
        if (typeof channel !== 'string' || !validMeta(meta)) {
          throw new CorruptJournalError(`bad stream record for ${String(channel)}`)
        }
        const limits =
          meta.s !== undefined && meta.t !== undefined ? { size: meta.s, ttl: meta.t } : undefined
        const entries: Publication[] = []
        const stale: number[] = []
        for (const { key, value } of this.#pubs.getRange({
          start: [channel, 0],
          end: [channel, meta.o + 1],
        })) {
          const offset = key[1]
          if (key[0] !== channel || !Number.isInteger(offset) || !validPub(value)) {
            throw new CorruptJournalError(`bad publication record in ${channel}`)
          }
          if (limits === undefined || value.m < now - limits.ttl) stale.push(offset)
          else entries.push(toPublication(offset, value))
        }
        // Past its size limit or expired while the node was down: reclaimed now.
        while (limits !== undefined && entries.length > limits.size)
          stale.push(entries.shift()!.offset)
        for (const offset of stale) this.#pubs.remove([channel, offset])
        for (let i = 1; i < entries.length; i++) {
          if (entries[i]!.offset !== entries[i - 1]!.offset + 1) {
            throw new CorruptJournalError(`publications missing inside the history of ${channel}`)
          }
        }
        this.#low.set(channel, entries[0]?.offset ?? meta.o + 1)
        if (limits !== undefined) this.#limits.set(channel, limits)
        out.push({ channel, epoch: meta.e, top: meta.o, limits, entries })
      }
    } catch (err) {
      if (err instanceof CorruptJournalError) throw err
      throw new CorruptJournalError('the data could not be read', { cause: err })
    }
    return out
  }

  append(
    channel: string,
    epoch: string,
    pub: Publication,
    limits: HistoryOptions | undefined,
  ): Promise<void> {
    if (limits !== undefined) {
      this.#limits.set(channel, limits)
      const rec: { d: unknown; m: number; i?: ClientInfo; k?: string } = {
        d: pub.data,
        m: pub.time ?? Date.now(),
      }
      if (pub.info !== undefined) rec.i = pub.info
      if (pub.key !== undefined) rec.k = pub.key
      this.#pubs.put([channel, pub.offset], rec)
      if (!this.#low.has(channel)) this.#low.set(channel, pub.offset)
    }
    return this.#putMeta(channel, epoch, pub.offset)
  }

  position(channel: string, epoch: string, top: number): Promise<void> {
    return this.#putMeta(channel, epoch, top)
  }

  async trim(channel: string, firstKept: number): Promise<void> {
    const low = this.#low.get(channel)
    if (low === undefined || low >= firstKept) return
    this.#low.set(channel, firstKept)
    let last: Promise<boolean> | undefined
    for (let offset = low; offset < firstKept; offset++) last = this.#pubs.remove([channel, offset])
    await last
  }

  async drop(channel: string): Promise<void> {
    this.#low.delete(channel)
    this.#limits.delete(channel)
    for (const key of this.#pubs.getKeys({
      start: [channel, 0],
      end: [channel, Number.MAX_SAFE_INTEGER],
    })) {
      this.#pubs.remove(key)
    }
    await this.#meta.remove(channel)
  }

  async close(): Promise<void> {
    await this.#root.close()
  }

  #putMeta(channel: string, epoch: string, top: number): Promise<void> {
    const limits = this.#limits.get(channel)
    const rec: MetaRecord =
      limits === undefined
        ? { e: epoch, o: top }
        : { e: epoch, o: top, s: limits.size, t: limits.ttl }
    return this.#meta.put(channel, rec).then(ok)
  }
}

function ok(): void {}

function validMeta(m: unknown): m is MetaRecord {
  if (typeof m !== 'object' || m === null) return false
  const r = m as Record<string, unknown>
  return (
    typeof r.e === 'string' &&
    isValidEpoch(r.e) &&
    Number.isInteger(r.o) &&
    (r.o as number) >= 0 &&
    (r.s === undefined || Number.isInteger(r.s)) &&
    (r.t === undefined || Number.isInteger(r.t))
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
