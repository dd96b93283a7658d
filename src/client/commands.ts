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
 * The client's commands in flight and in waiting: gives ids (1 … 2^31−1, wrapping), matches
 * replies by id, runs reply timeouts, and owns the {@link Outbox}. When a connection is lost,
 * in-flight `publish`, `presence` and `history` go back to the front of the outbox (a publish
 * keeps its idempotency key, so the server applies it once), and in-flight `rpc` and internal
 * commands reject with `SWB_ERR_CLIENT_DISCONNECTED`.
 *
 * @example
 * const commands = new Commands(1000)
 * const result = await commands.request(transport, { type: 'ping' }, 5000)
 */
export class Commands {
  readonly outbox: Outbox
  readonly #pending = new Map<number, Pending>()
  #nextId = 0

  constructor(outboxLimit: number) {
    this.outbox = new Outbox(outboxLimit)
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
      if (transport !== null) this.#sendEntry(transport, entry)
      else if (!this.outbox.push(entry)) {
        const limit = this.outbox.limit
        entry.reject(
          new ClientError(ClientErrorCode.OUTBOX_FULL, `outbox is full (${limit} commands)`, true),
        )
      }
    })
  }

  /** Sends every queued command, oldest first. */
  flush(transport: ClientTransport): void {
    for (const entry of this.outbox.drain()) this.#sendEntry(transport, entry)
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
    return true
  }

  /** The connection is gone: requeue what is safe to resend, fail the rest. */
  connectionLost(code: number, reason: string): void {
    const requeue: OutboxEntry[] = []
    const lost = new ClientError(
      ClientErrorCode.DISCONNECTED,
      `connection lost (${code}: ${reason})`,
      true,
    )
    for (const p of this.#pending.values()) {
      if (p.timer !== undefined) clearTimeout(p.timer)
      if (p.entry !== null && p.command.type !== 'rpc') requeue.push(p.entry)
      else if (p.entry !== null) p.entry.reject(lost)
      else p.reject(lost)
    }
    this.#pending.clear()
    this.outbox.requeue(requeue)
  }

  /** Rejects everything queued (the client stopped for good). */
  rejectQueued(error: ClientError): void {
    for (const entry of this.outbox.drain()) entry.reject(error)
  }

  #sendEntry(transport: ClientTransport, entry: OutboxEntry): void {
    const deadline = entry.timer !== undefined
    const timeout = deadline ? 0 : entry.timeout
    this.#send(transport, entry.command, entry, entry.resolve, entry.reject, timeout)
  }

  #send(
    transport: ClientTransport,
    command: QueuedCommand,
    entry: OutboxEntry | null,
    resolve: (r: unknown) => void,
    reject: (e: Error) => void,
    timeout: number,
  ): void {
    this.#nextId = this.#nextId >= MAX_COMMAND_ID - 1 ? 1 : this.#nextId + 1
    const id = this.#nextId
    const full = { ...command, id } as ClientCommand
    const pending: Pending = { command: full, entry, resolve, reject, timer: undefined }
    if (timeout > 0) {
      pending.timer = setTimeout(() => {
        if (this.#pending.get(id) !== pending) return
        this.#pending.delete(id)
        reject(timedOut(command.type, timeout))
      }, timeout)
    }
    this.#pending.set(id, pending)
    transport.send(full)
  }
}
