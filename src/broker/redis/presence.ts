import type { ClientInfo } from '../../protocol/index.ts'
import { packInfo, unpackInfo } from './codec.ts'
import { type RedisLink, script } from './link.ts'
import { PRESENCE_ADD_SCRIPT, PRESENCE_READ_SCRIPT, PRESENCE_REMOVE_SCRIPT } from './scripts.ts'

const ADD = script(PRESENCE_ADD_SCRIPT)
const READ = script(PRESENCE_READ_SCRIPT)
const REMOVE = script(PRESENCE_REMOVE_SCRIPT)
/** Members re-added per script call when a node refreshes a large channel. */
const REFRESH_CHUNK = 500

export interface RedisPresenceOptions {
  readonly link: RedisLink
  readonly keyOf: (channel: string, suffix: string) => string
  readonly ttl: number
  /** Tells every node that a member expired (its node stopped refreshing it). */
  readonly announceLeave: (channel: string, info: ClientInfo) => Promise<void>
  readonly onError: (error: unknown) => void
}

/**
 * Presence in Redis, per channel: a hash of members (client id -> info) and a sorted set of
 * their expiry times. Each node keeps its own members alive by re-adding them every third of the
 * TTL; the members of a node that died stop being refreshed and expire. Whoever removes an
 * expired member (a read, or this node's sweep of the channels it serves) announces its leave,
 * exactly once, because the removal is one atomic script.
 */
export class RedisPresence {
  readonly #o: RedisPresenceOptions
  /** This node's members, by channel and client id. */
  readonly #local = new Map<string, Map<string, ClientInfo>>()
  /** Channels this node serves where presence is in use: swept for expired members. */
  readonly #watched = new Set<string>()
  #timer: ReturnType<typeof setInterval> | null = null

  constructor(options: RedisPresenceOptions) {
    this.#o = options
  }

  start(): void {
    this.#timer ??= setInterval(tick, Math.max(1, Math.floor(this.#o.ttl / 3)), this)
    this.#timer.unref?.()
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }

  async add(channel: string, info: ClientInfo): Promise<void> {
    let members = this.#local.get(channel)
    if (members === undefined) {
      members = new Map()
      this.#local.set(channel, members)
    }
    members.set(info.client, info)
    this.#watched.add(channel)
    await this.#refresh(channel, [info])
  }

  async remove(channel: string, client: string): Promise<void> {
    const members = this.#local.get(channel)
    if (members !== undefined) {
      members.delete(client)
      if (members.size === 0) this.#local.delete(channel)
    }
    await this.#o.link.eval(
      REMOVE,
      [this.#o.keyOf(channel, 'p'), this.#o.keyOf(channel, 'z')],
      [client],
    )
  }

  async members(channel: string): Promise<ClientInfo[]> {
    const res = await this.#read<[Buffer[], Buffer[]]>(channel, 'members')
    return res[1].map((b) => unpackInfo(b))
  }

  async count(channel: string): Promise<number> {
    const res = await this.#read<[Buffer[], number]>(channel, 'count')
    return Number(res[1])
  }

  /** A join was seen on a channel this node serves: sweep it for expired members too. */
  seen(channel: string): void {
    this.#watched.add(channel)
  }

  /** The node no longer serves the channel. */
  forgetChannel(channel: string): void {
    if (!this.#local.has(channel)) this.#watched.delete(channel)
  }

  /** Re-adds every local member now (after Redis came back, possibly empty). */
  async refreshAll(): Promise<void> {
    await Promise.all(
      [...this.#local].map(([channel, members]) => this.#refresh(channel, [...members.values()])),
    )
  }

  /** @internal One timer tick: refresh this node's members, sweep the channels it serves. */
  tick(): void {
    this.refreshAll().catch(this.#o.onError)
    for (const channel of this.#watched) {
      this.#read(channel, 'prune').catch(this.#o.onError)
    }
  }

  async #refresh(channel: string, infos: ClientInfo[]): Promise<void> {
    const keys = [this.#o.keyOf(channel, 'p'), this.#o.keyOf(channel, 'z')]
    for (let i = 0; i < infos.length; i += REFRESH_CHUNK) {
      const argv: (string | Buffer)[] = [String(this.#o.ttl)]
      for (const info of infos.slice(i, i + REFRESH_CHUNK)) argv.push(info.client, packInfo(info))
      await this.#o.link.eval(ADD, keys, argv)
    }
  }

  /** Runs the read script; members it found expired are announced as leaves. */
  async #read<T extends [Buffer[], unknown]>(channel: string, mode: string): Promise<T> {
    const res = await this.#o.link.eval<T>(
      READ,
      [this.#o.keyOf(channel, 'p'), this.#o.keyOf(channel, 'z')],
      [mode],
    )
    for (const bytes of res[0]) {
      this.#o.announceLeave(channel, unpackInfo(bytes)).catch(this.#o.onError)
    }
    return res
  }
}

function tick(presence: RedisPresence): void {
  presence.tick()
}
