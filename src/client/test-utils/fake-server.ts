// A scripted protocol v1 server for the client's unit tests: fake WebSocket, EventSource and
// fetch that talk to one in-memory model of channels, history and idempotency keys. Tests reach
// in to refuse, cut or drop connections and to inject pushes.
import { toWireMessage } from '../../protocol/compact-push.ts'
import type {
  ClientCommand,
  Publication,
  Reply,
  ServerMessage,
  StreamPosition,
} from '../../protocol/messages.ts'
import { parseSseId } from '../../protocol/sse-id.ts'
import type { EventSourceLike, FetchLike } from '../transport-sse.ts'
import type { WebSocketLike } from '../transport-ws.ts'

interface Channel {
  epoch: string
  top: number
  pubs: Publication[]
  /** The epoch the last push named: like the real server, a push names it only when it changed. */
  pushed: string
}

type Peer = FakeSocket | FakeEventSource

export class FakeServer {
  /** What the next WebSocket gets: open normally, never open, open then close before anything,
   * or stay connecting until closed (a black-holed port). */
  wsMode: 'accept' | 'refuse' | 'cut' | 'hang' = 'accept'
  /** Milliseconds a POST waits before it is run and answered. */
  postDelay = 0
  sseMode: 'accept' | 'refuse' = 'accept'
  /** Refuses a stream before it opens with this answer (its status and body) for the channels
   * asked; both the EventSource (a bare error) and a GET `fetch` of the stream URL see it. */
  streamAnswer: ((channels: string[]) => { status: number; body: string } | null) | null = null
  /** Refuses POSTs (by their `authorization` header) with this answer; `null` runs them. */
  postAnswer:
    | ((authorization: string | undefined) => { status: number; body: string } | null)
    | null = null
  /** `authorization` headers of POSTs, in order. */
  postAuth: (string | undefined)[] = []
  /** URLs of GET `fetch` calls (the client's refusal probes). */
  probes: string[] = []
  /** Whether commands are answered (false: silently swallowed, e.g. for rpc timeouts). */
  answer = true
  historySize = 100
  sockets: FakeSocket[] = []
  streams: FakeEventSource[] = []
  commands: ClientCommand[] = []
  posts: ClientCommand[] = []
  /** Commands `refuseCommand` refused, in order. */
  refused: ClientCommand[] = []
  readonly channels = new Map<string, Channel>()
  readonly applied = new Map<string, { offset: number; epoch: string }>()
  readonly subscribers = new Map<string, Set<Peer>>()
  rpc: (method: string, data: unknown) => unknown = (method, data) => ({ method, data })
  /** Ends the WebSocket that sent a command this returns a close for (a server refusing a
   * poison command by closing: 1009, 3501, 3503); `push` sends a `disconnect` push first. */
  refuseCommand:
    | ((cmd: ClientCommand) => { code: number; reason: string; push?: boolean } | null)
    | null = null
  /** Largest `limit` a history command gets (the server's `maxHistoryLimit`). */
  maxHistoryLimit = 1000
  /** History commands run (answered or not). */
  historyReads = 0
  /** Answers history commands instead of the model (`null`: never answer this one). */
  historyAnswer: ((cmd: ClientCommand & { type: 'history' }) => Reply | null) | null = null
  #epochs = 0

  channel(name: string): Channel {
    let c = this.channels.get(name)
    if (c === undefined) {
      c = { epoch: `e${++this.#epochs}`, top: 0, pubs: [], pushed: '' }
      this.channels.set(name, c)
    }
    return c
  }

  /** Loses every channel's history (new epochs), like a restarted in-memory broker. */
  loseHistory(): void {
    for (const c of this.channels.values()) {
      c.epoch = `e${++this.#epochs}`
      c.top = 0
      c.pubs = []
    }
  }

  /** Publishes as the server; pushes to live subscribers unless `deliver` is false (the push
   * is lost on its way: it still counts as the one that named a new epoch). */
  publish(channel: string, data: unknown, deliver = true): Publication {
    const c = this.channel(channel)
    const pub: Publication = { offset: ++c.top, data }
    c.pubs.push(pub)
    if (c.pubs.length > this.historySize) c.pubs.shift()
    const push =
      c.pushed === c.epoch
        ? { type: 'publication' as const, channel, ...pub }
        : { type: 'publication' as const, channel, epoch: c.epoch, ...pub }
    c.pushed = c.epoch
    if (deliver) {
      for (const peer of this.subscribers.get(channel) ?? []) peer.push(push)
    }
    return pub
  }

  subscribeResult(name: string, since?: StreamPosition) {
    const c = this.channel(name)
    const base = { offset: c.top, epoch: c.epoch, recoverable: true }
    if (since === undefined) return base
    const oldest = c.pubs[0]?.offset ?? c.top + 1
    if (since.epoch !== c.epoch || since.offset + 1 < oldest || since.offset > c.top) {
      return { ...base, recovered: false }
    }
    return { ...base, recovered: true, publications: c.pubs.filter((p) => p.offset > since.offset) }
  }

  /** Runs one command; returns the reply (or null when not answering). */
  run(cmd: ClientCommand, peer: Peer | null): Reply | null {
    this.commands.push(cmd)
    if (!this.answer && cmd.type !== 'connect') return null
    switch (cmd.type) {
      case 'connect':
        return { id: cmd.id, result: { client: 'c1', user: '', version: 1 } }
      case 'subscribe': {
        if (peer !== null) this.#subs(cmd.channel).add(peer)
        return { id: cmd.id, result: this.subscribeResult(cmd.channel, cmd.since) }
      }
      case 'unsubscribe':
        if (peer !== null) this.#subs(cmd.channel).delete(peer)
        return { id: cmd.id, result: {} }
      case 'publish': {
        const key = cmd.idempotencyKey
        const seen = key === undefined ? undefined : this.applied.get(key)
        if (seen !== undefined) return { id: cmd.id, result: { ...seen, duplicate: true } }
        const pub = this.publish(cmd.channel, cmd.data)
        const result = { offset: pub.offset, epoch: this.channel(cmd.channel).epoch }
        if (key !== undefined) this.applied.set(key, result)
        return { id: cmd.id, result }
      }
      case 'rpc':
        return { id: cmd.id, result: { data: this.rpc(cmd.method, cmd.data) } }
      case 'presence':
        return { id: cmd.id, result: { count: 0, members: [] } }
      case 'history': {
        this.historyReads++
        if (this.historyAnswer !== null) return this.historyAnswer(cmd)
        // As the memory broker: after `since` in its epoch (none in another), oldest first.
        const c = this.channel(cmd.channel)
        const since = cmd.since
        let pubs = since === undefined ? c.pubs : c.pubs.filter((p) => p.offset > since.offset)
        if (since !== undefined && since.epoch !== c.epoch) pubs = []
        const limit = Math.min(cmd.limit ?? this.maxHistoryLimit, this.maxHistoryLimit)
        pubs = pubs.slice(0, limit)
        return { id: cmd.id, result: { offset: c.top, epoch: c.epoch, publications: pubs } }
      }
      default:
        return { id: cmd.id, result: {} }
    }
  }

  #subs(channel: string): Set<Peer> {
    let s = this.subscribers.get(channel)
    if (s === undefined) this.subscribers.set(channel, (s = new Set()))
    return s
  }

  detach(peer: Peer): void {
    for (const s of this.subscribers.values()) s.delete(peer)
  }

  /** Publishes `n` publications nobody connected receives (they land in history only). */
  publishWhileAway(channel: string, n: number): void {
    for (let i = 0; i < n; i++) this.publish(channel, { n: i }, false)
  }

  get lastSocket(): FakeSocket {
    const s = this.sockets.at(-1)
    if (s === undefined) throw new Error('no socket yet')
    return s
  }

  /** The fake WebSocket constructor bound to this server. */
  get WebSocket() {
    const server = this
    return class extends FakeSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(server, url, protocols)
      }
    }
  }

  get EventSource() {
    const server = this
    return class extends FakeEventSource {
      constructor(url: string) {
        super(server, url)
      }
    }
  }

  /** A fetch that runs POSTed commands through the model. */
  get fetch(): FetchLike {
    return async (_url, init) => {
      await later(this.postDelay)
      if (this.sseMode === 'refuse') throw new TypeError('fetch failed')
      if (init.method === 'GET') {
        this.probes.push(_url)
        const answer = this.streamAnswer?.(new URL(_url).searchParams.getAll('channel')) ?? null
        if (answer === null) return { ok: true, status: 200, text: async () => '' }
        return { ok: false, status: answer.status, text: async () => answer.body }
      }
      const authorization = init.headers.authorization
      this.postAuth.push(authorization)
      const refused = this.postAnswer?.(authorization) ?? null
      if (refused !== null) {
        return { ok: false, status: refused.status, text: async () => refused.body }
      }
      const cmd = JSON.parse(init.body ?? '') as ClientCommand
      this.posts.push(cmd)
      const reply = this.run(cmd, null)
      if (reply === null) return new Promise(() => {}) // never answers
      return { ok: true, status: 200, text: async () => JSON.stringify(reply) }
    }
  }
}

function later(ms = 0): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

export class FakeSocket implements WebSocketLike {
  readyState = 0
  binaryType = 'blob'
  onopen: ((event: unknown) => void) | null = null
  onmessage: ((event: { data: unknown }) => void) | null = null
  onclose: ((event: { code: number; reason: string }) => void) | null = null
  onerror: ((event: unknown) => void) | null = null
  readonly server: FakeServer
  readonly url: string
  readonly protocols: string | string[] | undefined
  closedBy: { code?: number | undefined; reason?: string | undefined } | null = null

  constructor(server: FakeServer, url: string, protocols?: string | string[]) {
    this.server = server
    this.url = url
    this.protocols = protocols
    server.sockets.push(this)
    const mode = server.wsMode
    if (mode === 'hang') return
    setTimeout(() => {
      if (this.readyState !== 0) return
      if (mode === 'refuse') return this.drop(1006, '')
      this.readyState = 1
      this.onopen?.({})
      if (mode === 'cut') setTimeout(() => this.drop(1006, ''), 1)
    }, 1)
  }

  send(data: string | Uint8Array): void {
    if (this.readyState !== 1) throw new Error('not open')
    const cmd = JSON.parse(String(data)) as ClientCommand
    setTimeout(() => {
      if (this.readyState !== 1) return
      const refused = this.server.refuseCommand?.(cmd) ?? null
      if (refused !== null) {
        this.server.refused.push(cmd)
        if (refused.push === true) {
          this.push({
            type: 'disconnect',
            code: refused.code,
            reason: refused.reason,
            reconnect: false,
          })
        }
        this.drop(refused.code, refused.reason)
        return
      }
      const reply = this.server.run(cmd, this)
      if (reply !== null) this.push(reply)
    }, 0)
  }

  /** Delivers one server message, a publication in its compact form as the real server's. */
  push(message: ServerMessage): void {
    if (this.readyState !== 1) return
    this.onmessage?.({ data: JSON.stringify(toWireMessage(message)) })
  }

  close(code?: number, reason?: string): void {
    this.closedBy = { code, reason }
    this.readyState = 3
    this.server.detach(this)
  }

  /** The server (or the network) ends the connection. */
  drop(code: number, reason: string): void {
    if (this.readyState === 3) return
    this.readyState = 3
    this.server.detach(this)
    this.onclose?.({ code, reason })
  }
}

export class FakeEventSource implements EventSourceLike {
  readyState = 0
  onopen: ((event: unknown) => void) | null = null
  onerror: ((event: unknown) => void) | null = null
  readonly url: URL
  readonly server: FakeServer
  readonly #listeners = new Map<string, Array<(event: { data: string }) => void>>()

  constructor(server: FakeServer, url: string) {
    this.server = server
    this.url = new URL(url)
    server.streams.push(this)
    const mode = server.sseMode
    setTimeout(() => {
      if (this.readyState !== 0) return
      const refused = server.streamAnswer?.(this.url.searchParams.getAll('channel')) ?? null
      if (mode === 'refuse' || refused !== null) {
        this.readyState = 2
        this.onerror?.({})
        return
      }
      this.readyState = 1
      this.onopen?.({})
      const channels = this.url.searchParams.getAll('channel')
      const last = this.url.searchParams.get('lastEventId')
      const cursors = last === null ? null : parseSseId(last, channels)
      for (const channel of channels) {
        const sub = server.subscribeResult(channel, cursors?.get(channel))
        server.subscribers.get(channel)?.add(this) ??
          server.subscribers.set(channel, new Set<Peer>([this]))
        this.push({ type: 'subscribe', channel, ...sub })
      }
    }, 1)
  }

  addEventListener(type: string, listener: (event: { data: string }) => void): void {
    const list = this.#listeners.get(type) ?? []
    list.push(listener)
    this.#listeners.set(type, list)
  }

  push(message: ServerMessage): void {
    if (this.readyState !== 1) return
    const type = (message as { type?: string }).type ?? 'reply'
    for (const l of this.#listeners.get(type) ?? []) l({ data: JSON.stringify(message) })
  }

  close(): void {
    this.readyState = 2
    this.server.detach(this)
  }

  /** The stream breaks (the browser would retry; the client takes over). */
  drop(): void {
    if (this.readyState === 2) return
    this.readyState = 0
    this.server.detach(this)
    this.onerror?.({})
  }
}

/** Waits until `predicate` holds, polling every millisecond, at most `ms`. */
export async function waitFor(
  predicate: () => boolean,
  ms = 2000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await later(1)
  }
}
