import { MAX_COMMAND_ID } from '../protocol/codec.ts'
import type { ClientCommand, Reply } from '../protocol/messages.ts'
import { ClientError, ClientErrorCode } from './errors.ts'
import { Outbox, type OutboxEntry, type QueuedCommand } from './outbox.ts'
import type { ClientTransport } from './transport.ts'

interface Pending {
  readonly command: ClientCommand
  readonly entry: OutboxEntry | null
  resolve(result: unknown): void
  reject(error: Error): void
  timer: ReturnType<typeof setTimeout> | undefined
}

function timedOut(type: string, timeout: number): ClientError {
  return new ClientError(ClientErrorCode.TIMEOUT, `${type} timed out after ${timeout} ms`, true)
}

/**
 * Close codes by which a server refuses one command by ending its connection: 1009 (RFC 6455
 * §7.4.1, the WebSocket layer: message too big), 3503 (the hub: larger than `maxCommandBytes`)
 * and 3501 (not a protocol v1 command). Sending that command again would be refused again.
 */
export const REFUSING_CLOSE_CODES: ReadonlySet<number> = new Set([1009, 3501, 3503])

function refusedError(command: ClientCommand, code: number, reason: string): ClientError {
  const why = reason === '' ? `${code}` : `${code}: ${reason}`
  return code === 3501
    ? new ClientError(
        ClientErrorCode.REFUSED,
        `${command.type} refused: the server could not read it as a command (${why})`,
      )
    : new ClientError(
        ClientErrorCode.TOO_LARGE,
        `${command.type} refused: larger than the server accepts (${why})`,
      )
}

/** How big a command is on the wire, near enough to rank commands (JSON length). */
function roughSize(command: ClientCommand): number {
  try {
    return JSON.stringify(command)?.length ?? 0
  } catch {
    return Number.POSITIVE_INFINITY
  }
}

/**
 * The client's commands in flight and in waiting: gives ids (1 … 2^31−1, wrapping), matches
 * replies by id, runs reply timeouts, and owns the {@link Outbox}. When a connection is lost,
 * in-flight `publish`, `presence` and `history` go back to the front of the outbox (a publish
 * keeps its idempotency key, so the server applies it once), and in-flight `rpc` and internal
 * commands reject with `SWB_ERR_CLIENT_DISCONNECTED`.
 *
 * A poison command is never resent: when the server closes with one of
 * {@link REFUSING_CLOSE_CODES}, the command it refused is rejected with
 * `SWB_ERR_CLIENT_TOO_LARGE` (1009, 3503) or `SWB_ERR_CLIENT_REFUSED` (3501). It is the only
 * application command in flight, or for a size refusal the largest; when a 3501 leaves several
 * in doubt, they are sent again one at a time, alone on the connection, so the next refusal
 * names its command.
 *
 * @example
 * const commands = new Commands(1000)
 * const result = await commands.request(transport, { type: 'ping' }, 5000)
 */
export class Commands {
  readonly outbox: Outbox
  readonly #pending = new Map<number, Pending>()
  readonly #live: () => ClientTransport | null
  /** A suspect sent alone: nothing else goes out until it is answered. */
  #alone: Pending | null = null
  #nextId = 0

  /** `live`: the transport to send on while connected (for sends that wait for a reply). */
  constructor(outboxLimit: number, live: () => ClientTransport | null = () => null) {
    this.outbox = new Outbox(outboxLimit)
    this.#live = live
  }

  /** Sends on `transport` now, without the outbox; rejects at once when it is `null`. */
  request(
    transport: ClientTransport | null,
    command: QueuedCommand,
    timeout: number,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (transport === null) {
        reject(new ClientError(ClientErrorCode.DISCONNECTED, 'not connected', true))
        return
      }
      this.#send(transport, command, null, resolve, reject, timeout)
    })
  }

  /**
   * Sends on `transport` when given (the client is connected), else queues in the outbox.
   * With `deadline` (rpc), `timeout` runs from now, queued time included; otherwise it is the
   * reply timeout once sent.
   */
  enqueue(
    transport: ClientTransport | null,
    command: QueuedCommand,
    timeout: number,
    deadline: boolean,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const entry: OutboxEntry = { command, resolve, reject, timeout }
      if (deadline) {
        entry.timer = setTimeout(() => {
          entry.timer = undefined
          this.outbox.remove(entry)
          for (const [id, p] of this.#pending) {
            if (p.entry === entry) {
              this.#pending.delete(id)
              this.#settled(p)
              break
            }
          }
          reject(timedOut(command.type, timeout))
        }, timeout)
        const settle = (): void => {
          if (entry.timer !== undefined) clearTimeout(entry.timer)
          entry.timer = undefined
        }
        entry.resolve = (r) => {
          settle()
          resolve(r)
        }
        entry.reject = (e) => {
          settle()
          reject(e)
        }
      }
      // While suspects are isolated, new commands wait behind them.
      if (transport !== null && !this.#isolating()) this.#sendEntry(transport, entry)
      else if (!this.outbox.push(entry)) {
        const limit = this.outbox.limit
        entry.reject(
          new ClientError(ClientErrorCode.OUTBOX_FULL, `outbox is full (${limit} commands)`, true),
        )
      }
    })
  }

  /** Sends every queued command, oldest first (a suspect alone, see the class comment). */
  flush(transport: ClientTransport): void {
    for (;;) {
      if (this.#alone !== null) return
      const next = this.outbox.peek()
      if (next === undefined) return
      if (next.suspect === true) {
        // Sent when no other application command is in flight, and alone until answered.
        for (const p of this.#pending.values()) if (p.entry !== null) return
        this.outbox.shift()
        this.#alone = this.#sendEntry(transport, next)
        return
      }
      this.outbox.shift()
      this.#sendEntry(transport, next)
    }
  }

  #isolating(): boolean {
    return this.#alone !== null || this.outbox.peek()?.suspect === true
  }

  /** A command left the pending table: an isolated suspect answered lets the queue move on. */
  #settled(p: Pending): void {
    if (this.#alone === p) this.#alone = null
    else if (p.entry === null || this.outbox.peek()?.suspect !== true) return
    const live = this.#live()
    if (live !== null) this.flush(live)
  }

  /** Settles the command a reply answers; returns false when no command waits for it. */
  onReply(reply: Reply): boolean {
    const pending = this.#pending.get(reply.id)
    if (pending === undefined) return false
    this.#pending.delete(reply.id)
    if (pending.timer !== undefined) clearTimeout(pending.timer)
    if (reply.error !== undefined) {
      const e = reply.error
      pending.reject(new ClientError(e.code, e.message, e.temporary === true))
    } else pending.resolve(reply.result)
    this.#settled(pending)
    return true
  }

  /**
   * The connection is gone: requeue what is safe to resend, fail the rest. Returns true when
   * the close refused application commands (one of {@link REFUSING_CLOSE_CODES} with at least
   * one in flight): the refused one is rejected or the doubtful ones isolated, so reconnecting
   * cannot loop on it.
   */
  connectionLost(code: number, reason: string): boolean {
    const requeue: OutboxEntry[] = []
    const lost = new ClientError(
      ClientErrorCode.DISCONNECTED,
      `connection lost (${code}: ${reason})`,
      true,
    )
    this.#alone = null
    const candidates = REFUSING_CLOSE_CODES.has(code)
      ? [...this.#pending.values()].filter((p) => p.entry !== null)
      : []
    const culprit = culpritOf(candidates, code)
    for (const p of this.#pending.values()) {
      if (p.timer !== undefined) clearTimeout(p.timer)
      if (p === culprit) p.reject(refusedError(p.command, code, reason))
      else if (p.entry !== null && p.command.type !== 'rpc') {
        if (culprit === null && candidates.length > 1) p.entry.suspect = true
        requeue.push(p.entry)
      } else if (p.entry !== null) p.entry.reject(lost)
      else p.reject(lost)
    }
    this.#pending.clear()
    this.outbox.requeue(requeue)
    return candidates.length > 0
  }

  /** Rejects everything queued (the client stopped for good). */
  rejectQueued(error: ClientError): void {
    for (const entry of this.outbox.drain()) entry.reject(error)
  }

  #sendEntry(transport: ClientTransport, entry: OutboxEntry): Pending {
    const deadline = entry.timer !== undefined
    const timeout = deadline ? 0 : entry.timeout
    return this.#send(transport, entry.command, entry, entry.resolve, entry.reject, timeout)
  }

  #send(
    transport: ClientTransport,
    command: QueuedCommand,
    entry: OutboxEntry | null,
    resolve: (r: unknown) => void,
    reject: (e: Error) => void,
    timeout: number,
  ): Pending {
    this.#nextId = this.#nextId >= MAX_COMMAND_ID - 1 ? 1 : this.#nextId + 1
    const id = this.#nextId
    const full = { ...command, id } as ClientCommand
    const pending: Pending = { command: full, entry, resolve, reject, timer: undefined }
    if (timeout > 0) {
      pending.timer = setTimeout(() => {
        if (this.#pending.get(id) !== pending) return
        this.#pending.delete(id)
        reject(timedOut(command.type, timeout))
        this.#settled(pending)
      }, timeout)
    }
    this.#pending.set(id, pending)
    transport.send(full)
    return pending
  }
}

/**
 * The command a refusing close was about: the only application command in flight, or for a size
 * refusal (1009, 3503) the largest of them; `null` when a 3501 leaves several in doubt.
 */
function culpritOf(candidates: readonly Pending[], code: number): Pending | null {
  if (candidates.length === 1) return candidates[0]!
  if (candidates.length === 0 || code === 3501) return null
  let culprit: Pending | null = null
  let largest = -1
  for (const p of candidates) {
    const size = roughSize(p.command)
    if (size > largest) {
      largest = size
      culprit = p
    }
  }
  return culprit
}
