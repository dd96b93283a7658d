import { SwitchboardError } from '../errors/index.ts'
import type { Publication, PublishResult, StreamPosition } from '../protocol/index.ts'
import type { Hub } from './hub.ts'
import type { HubPublishOptions } from './hub-options.ts'

/** Publications lost to a fold: the stream was replaced (a new epoch; the state started again
 * from `initial()` and the new stream was folded), or some were trimmed from history (size,
 * TTL) before this node read them, so they were never applied. */
export type FoldLoss =
  | { readonly reason: 'replaced'; readonly channel: string; readonly epoch: string }
  | {
      readonly reason: 'trimmed'
      readonly channel: string
      readonly from: number
      readonly to: number
    }

/** Options of a {@link ChannelFold}. `T` is the data published on the channel, `R` what
 * `apply` returns for one publication. */
export interface ChannelFoldOptions<S, T, R> {
  /** A fresh state: the fold starts from it, and again when the stream is replaced. */
  initial: () => S
  /**
   * Applies one publication to the state (mutate it in place), in offset order, once each. Its
   * return value is handed to the publication's publisher (`append`). If it throws, the
   * publication is skipped (leave the state as it was: check first, then change) and `append`
   * rejects with the error, on every node alike: this is how a log refuses an entry.
   */
  apply: (state: S, data: T, publication: Publication) => R
  /** Told when publications were lost to the fold (see {@link FoldLoss}). Default: nothing. */
  onLoss?: (loss: FoldLoss) => void
  /** Publications read per history call while catching up. Default 1000. */
  pageSize?: number
}

/** What {@link ChannelFold.append} did: the publication's position, what `apply` returned for
 * it (undefined when this call did not apply it: a `duplicate`, or a stream replaced meanwhile),
 * and the state with it applied. */
export interface FoldAppend<S, R> extends PublishResult {
  readonly result: R | undefined
  readonly state: S
}

type Hubish = Pick<Hub, 'publish' | 'history'>

const DEFAULT_PAGE_SIZE = 1000

function invalid(message: string): never {
  throw new SwitchboardError('SWB_ERR_INVALID_OPTION', `ChannelFold: ${message}`)
}

/**
 * A state derived from a channel's whole history, the same on every node and after every
 * restart: each publication, in offset order, is applied once with `apply`. Use it for server
 * state that must outlive the process without a database of its own (a poll's votes, a
 * counter, a game's score): the channel's history is the log, the broker keeps it (durable,
 * Redis, NATS), and every node that folds it agrees, because the broker orders it. Every `read`
 * and `append` first catches up with the history (one history call when nothing is new); on one
 * node they run one at a time. The channel's namespace must keep the whole log (`historySize`,
 * `historyTtl`), else the oldest entries are lost (`onLoss`). The broker's epoch is handled
 * here: a replaced stream starts the state again from `initial()`.
 *
 * @example
 * app.channels.namespace('counter', { historySize: 100_000, historyTtl: 365 * 86_400_000 })
 * const clicks = new ChannelFold(app.hub, 'counter:clicks', {
 *   initial: () => ({ total: 0 }),
 *   apply: (state, data: { n: number }) => { state.total += data.n },
 * })
 * await clicks.append({ n: 1 }) // { offset, epoch, result: undefined, state: { total: 1 } }
 * await clicks.read()           // { total: 1 }, on any node, after any restart
 */
export class ChannelFold<S, T = unknown, R = unknown> {
  readonly channel: string
  readonly #hub: Hubish
  readonly #initial: () => S
  readonly #apply: (state: S, data: T, publication: Publication) => R
  readonly #onLoss: (loss: FoldLoss) => void
  readonly #pageSize: number
  #state: S
  #offset = 0
  #epoch = ''
  #turn: Promise<unknown> = Promise.resolve()

  constructor(hub: Hubish, channel: string, options: ChannelFoldOptions<S, T, R>) {
    if (typeof options?.initial !== 'function') invalid('initial must be a function')
    if (typeof options.apply !== 'function') invalid('apply must be a function')
    if (options.onLoss !== undefined && typeof options.onLoss !== 'function') {
      invalid('onLoss must be a function')
    }
    const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE
    if (!Number.isInteger(pageSize) || pageSize < 1) invalid('pageSize must be an integer >= 1')
    this.#hub = hub
    this.channel = channel
    this.#initial = options.initial
    this.#apply = options.apply
    this.#onLoss = options.onLoss ?? (() => {})
    this.#pageSize = pageSize
    this.#state = this.#initial()
  }

  /** The state as of the last catch-up (no broker call). Read it; change it only in `apply`. */
  get state(): S {
    return this.#state
  }

  /** The position folded up to: the last offset applied (or lost) and its stream's epoch. */
  get position(): StreamPosition {
    return { offset: this.#offset, epoch: this.#epoch }
  }

  /** Catches up with every publication the channel holds now, then returns the state. */
  read(): Promise<S> {
    return this.#serial(async () => {
      await this.#catchUp(undefined)
      return this.#state
    })
  }

  /**
   * Publishes `data` on the channel (through `hub.publish`: schema, idempotency key and fan-out
   * as usual), then catches up past it. Rejects with what `apply` threw for it, if it threw.
   */
  append(data: T, options?: HubPublishOptions): Promise<FoldAppend<S, R>> {
    return this.#serial(async () => {
      const published = await this.#hub.publish(this.channel, data, options)
      const outcome = await this.#catchUp(published)
      if (outcome !== undefined && 'error' in outcome) throw outcome.error
      return { ...published, result: outcome?.result, state: this.#state }
    })
  }

  #serial<V>(work: () => Promise<V>): Promise<V> {
    const run = this.#turn.then(work, work)
    this.#turn = run.catch(() => {})
    return run
  }

  /** Applies every publication after the position; returns what happened to the one at `watch`
   * when this catch-up applied it. */
  async #catchUp(
    watch: StreamPosition | undefined,
  ): Promise<{ result: R } | { error: unknown } | undefined> {
    let outcome: { result: R } | { error: unknown } | undefined
    for (let replaced = 0; ; ) {
      const since = { offset: this.#offset, epoch: this.#epoch }
      const res = await this.#hub.history(this.channel, { since, limit: this.#pageSize })
      if (res.epoch !== this.#epoch) {
        // The first read, or a stream the broker replaced: start again from nothing.
        if (++replaced > 2) {
          throw new SwitchboardError('SWB_ERR_BROKER_UNAVAILABLE', `${this.channel} keeps changing`)
        }
        if (this.#offset > 0)
          this.#onLoss({ reason: 'replaced', channel: this.channel, epoch: res.epoch })
        this.#epoch = res.epoch
        this.#offset = 0
        this.#state = this.#initial()
        continue
      }
      for (const pub of res.publications) {
        if (pub.offset <= this.#offset) continue
        if (pub.offset !== this.#offset + 1) this.#lost(pub.offset - 1)
        let applied: { result: R } | { error: unknown }
        try {
          applied = { result: this.#apply(this.#state, pub.data as T, pub) }
        } catch (error) {
          applied = { error }
        }
        this.#offset = pub.offset
        if (pub.offset === watch?.offset && res.epoch === watch.epoch) outcome = applied
      }
      if (res.publications.length === 0 || this.#offset >= res.offset) {
        if (res.offset > this.#offset) this.#lost(res.offset)
        return outcome
      }
    }
  }

  /** Publications after the position up to `to` are gone from history: report and skip them. */
  #lost(to: number): void {
    this.#onLoss({ reason: 'trimmed', channel: this.channel, from: this.#offset + 1, to })
    this.#offset = to
  }
}
