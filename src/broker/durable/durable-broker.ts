import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs'
import { join } from 'node:path'
import { SwitchboardError } from '../../errors/index.ts'
import type { Publication } from '../../protocol/index.ts'
import type { BrokerHandler, HistoryOptions } from '../broker.ts'
import type { Journal, JournalKey, JournalStream } from '../journal.ts'
import { MemoryBroker, type MemoryBrokerOptions } from '../memory.ts'
import { LevelJournal } from './level-journal.ts'

/** Options of {@link DurableBroker}: `dir` and the memory broker's limits. */
export interface DurableBrokerOptions extends Omit<MemoryBrokerOptions, 'cluster'> {
  /** Directory of the data; created when missing. One process per directory. */
  readonly dir: string
  /**
   * When subscribers get a publication. `'committed'` (default): once it is on disk, so after a
   * crash (kill -9) the node keeps its epochs and clients resume with `recovered: true`.
   * `'immediate'`: at once, as the memory broker does (publish still answers once on disk):
   * fan-out as fast as the memory broker's, but after a crash every channel goes on in a new
   * epoch (history kept), so clients are told `recovered: false`. A clean stop keeps epochs in
   * both modes.
   */
  readonly delivery?: 'committed' | 'immediate'
}

/**
 * The embedded broker that survives its own restarts: the memory broker's contract and speed,
 * with every channel's history and epoch kept on disk (LevelDB, through `classic-level`). A publication is delivered and its
 * `publish` answered once it is committed; the writes of one event-loop turn share one commit
 * (group commit), so durability costs one disk sync per turn, not per publication. A clean
 * restart and a crash (kill -9) both resume the same epochs with every acknowledged publication.
 * Presence is not durable: it is rebuilt from the sessions that reconnect. Data that cannot be
 * read at start is moved aside (`<dir>.corrupt-<time>`), reported, and the node starts with new
 * epochs, so no client resumes into garbage. See docs/channels.md.
 *
 * @example
 * import { DurableBroker } from 'switchboard/durable'
 * app.channels.configure({ broker: new DurableBroker({ dir: './data' }) })
 */
export class DurableBroker extends MemoryBroker {
  override readonly name: string = 'durable'
  readonly #journal: RecoveringJournal

  constructor(options: DurableBrokerOptions) {
    if (typeof options?.dir !== 'string' || options.dir === '') {
      throw new SwitchboardError(
        'SWB_ERR_INVALID_OPTION',
        'DurableBroker: dir must be a directory path',
      )
    }
    const { dir, delivery = 'committed', ...rest } = options
    if (delivery !== 'committed' && delivery !== 'immediate') {
      throw new SwitchboardError(
        'SWB_ERR_INVALID_OPTION',
        `DurableBroker: delivery must be 'committed' or 'immediate', got ${String(delivery)}`,
      )
    }
    const journal = new RecoveringJournal(dir, delivery === 'immediate')
    super(rest, journal)
    this.#journal = journal
  }

  override async start(handler: BrokerHandler): Promise<void> {
    this.#journal.report = (err) => handler.onError?.(err)
    await super.start(handler)
  }

  /** Where unreadable data was moved at start, or null. */
  get recoveredFrom(): string | null {
    return this.#journal.movedTo
  }
}

/** Opens the LevelDB journal, and when its data cannot be read, moves it aside and starts empty. */
class RecoveringJournal implements Journal {
  readonly #dir: string
  readonly deliversEarly: boolean
  #inner: LevelJournal | null = null
  movedTo: string | null = null
  report: (err: unknown) => void = () => {}

  constructor(dir: string, deliversEarly: boolean) {
    this.#dir = dir
    this.deliversEarly = deliversEarly
  }

  async load(now: number): Promise<{ streams: JournalStream[]; keys: JournalKey[] }> {
    mkdirSync(this.#dir, { recursive: true })
    lock(this.#dir)
    try {
      this.#inner = new LevelJournal(this.#dir, this.deliversEarly)
      return await this.#inner.load(now)
    } catch (err) {
      try {
        await this.#inner?.close()
      } catch {}
      this.movedTo = `${this.#dir}.corrupt-${new Date(now).toISOString().replace(/[:.]/g, '-')}`
      renameSync(this.#dir, this.movedTo)
      this.report(
        new Error(
          `DurableBroker: the data in ${this.#dir} could not be read (${err instanceof Error ? err.message : String(err)}); it was moved to ${this.movedTo} and every channel starts with a new epoch`,
          { cause: err },
        ),
      )
      mkdirSync(this.#dir, { recursive: true })
      lock(this.#dir)
      this.#inner = new LevelJournal(this.#dir, this.deliversEarly)
      return { streams: [], keys: [] }
    }
  }

  async append(
    channel: string,
    epoch: string,
    pub: Publication,
    limits: HistoryOptions | undefined,
    key?: JournalKey,
  ): Promise<void> {
    return this.#open().append(channel, epoch, pub, limits, key)
  }

  async forgetKey(name: string): Promise<void> {
    return this.#open().forgetKey(name)
  }

  async position(channel: string, epoch: string, top: number): Promise<void> {
    return this.#open().position(channel, epoch, top)
  }

  async trim(channel: string, firstKept: number): Promise<void> {
    return this.#open().trim(channel, firstKept)
  }

  async drop(channel: string, top: number): Promise<void> {
    return this.#open().drop(channel, top)
  }

  async close(): Promise<void> {
    const inner = this.#inner
    this.#inner = null
    if (inner === null) return
    await inner.close()
    rmSync(join(this.#dir, LOCK), { force: true })
  }

  #open(): LevelJournal {
    if (this.#inner === null) throw new Error('DurableBroker: used before start() or after close()')
    return this.#inner
  }
}

const LOCK = 'switchboard.lock'

/**
 * Takes the data directory for this process: two processes writing one directory would hand out
 * the same offsets in the same epoch. A lock left by a process that is gone (a crash) is taken
 * over; one held by a live process refuses the start with a coded error.
 */
function lock(dir: string): void {
  const file = join(dir, LOCK)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx')
      writeSync(fd, String(process.pid))
      closeSync(fd)
      return
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const holder = Number(readFileSync(file, 'utf8').trim())
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
      throw new SwitchboardError(
        'SWB_ERR_BROKER_STORAGE',
        `DurableBroker: ${dir} is in use by process ${holder} (one process per data directory; delete ${file} if that process is not a Switchboard node)`,
      )
    }
    rmSync(file, { force: true })
  }
  throw new SwitchboardError('SWB_ERR_BROKER_STORAGE', `DurableBroker: could not lock ${dir}`)
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
