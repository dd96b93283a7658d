import type { ClientCommand, Reply, ServerMessage } from '../../protocol/index.ts'
import type { Hub } from '../hub.ts'
import type { Session } from '../session.ts'
import type { WireFormat } from '../transport.ts'
import { wsJsonFormat } from '../transport.ts'
import { MemoryTransport } from './memory-transport.ts'

type Command = ClientCommand extends infer C
  ? C extends ClientCommand
    ? Omit<C, 'id'>
    : never
  : never

/** Lets pending promises and the hub's per-turn flush run. */
export async function turn(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r))
}

/**
 * A protocol client over a {@link MemoryTransport}, for tests: sends commands as encoded bytes
 * and waits for their replies.
 */
export class TestClient {
  readonly transport: MemoryTransport
  readonly session: Session
  #id = 0

  constructor(
    hub: Hub,
    format: WireFormat = wsJsonFormat,
    transport: MemoryTransport = new MemoryTransport(format),
  ) {
    this.transport = transport
    this.session = hub.connect(this.transport)
  }

  static async connect(
    hub: Hub,
    token?: string,
    format?: WireFormat,
    transport?: MemoryTransport,
  ): Promise<TestClient> {
    const c = new TestClient(hub, format ?? transport?.format, transport)
    const r = await c.request({ type: 'connect', ...(token === undefined ? null : { token }) })
    if (r.error) throw new Error(`connect failed: ${r.error.code}`)
    return c
  }

  /** Sends a command without waiting; returns its id. */
  send(command: Command): number {
    const id = ++this.#id
    const full = { id, ...command } as ClientCommand
    this.session.receive(this.transport.format.codec.encode(full))
    return id
  }

  /**
   * Sends a command and waits for its reply: turn by turn at first, then by the clock, up to 5 s.
   * (Counting turns alone failed under load: an auth hook waiting on crypto's thread pool can
   * take longer than 200 idle turns.)
   */
  async request<R = unknown>(command: Command): Promise<Reply<R>> {
    const id = this.send(command)
    const deadline = Date.now() + 5000
    for (let i = 0; ; i++) {
      const reply = this.transport.messages.find((m) => (m as Reply).id === id)
      if (reply !== undefined) return reply as Reply<R>
      if (Date.now() > deadline) throw new Error(`no reply to command ${id}`)
      await new Promise((r) => (i < 200 ? setImmediate(r) : setTimeout(r, 1)))
    }
  }

  /** Pushes received so far (messages without an id), optionally of one type. */
  pushes<T extends ServerMessage = ServerMessage>(type?: string): T[] {
    return this.transport.messages.filter(
      (m) =>
        (m as Reply).id === undefined &&
        (type === undefined || (m as { type?: string }).type === type),
    ) as T[]
  }
}
