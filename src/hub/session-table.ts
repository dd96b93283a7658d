import { CONNECTED, CONNECTING, type Session } from './session.ts'

/**
 * The sessions of one hub, by connection id and by user id. A session is in the id table from
 * the moment its transport opens, and in its user's set once it is identified.
 */
export class SessionTable {
  readonly #sessions = new Map<string, Session>()
  readonly #users = new Map<string, Set<Session>>()

  /** Sessions on this node. */
  get size(): number {
    return this.#sessions.size
  }

  /** Distinct signed-in users on this node. */
  get userCount(): number {
    return this.#users.size
  }

  /** Adds a session that has not said who it is yet. */
  add(session: Session): void {
    this.#sessions.set(session.id, session)
  }

  /** Adds an identified session under its id and its user (anonymous sessions by id only). */
  register(session: Session): void {
    this.#sessions.set(session.id, session)
    if (session.user === '') return
    let set = this.#users.get(session.user)
    if (set === undefined) {
      set = new Set()
      this.#users.set(session.user, set)
    }
    set.add(session)
  }

  /** Forgets a session. */
  remove(session: Session): void {
    this.#sessions.delete(session.id)
    const mine = this.#users.get(session.user)
    if (mine === undefined) return
    mine.delete(session)
    if (mine.size === 0) this.#users.delete(session.user)
  }

  get(client: string): Session | undefined {
    return this.#sessions.get(client)
  }

  /** The live set of a user's sessions (do not keep it across a turn). */
  ofUser(user: string): ReadonlySet<Session> | undefined {
    return this.#users.get(user)
  }

  /** Every session, as a copy safe to disconnect from while iterating. */
  all(): Session[] {
    return [...this.#sessions.values()]
  }

  /**
   * Calls `expire` for each connected session whose credential expired by `now`, and `stale`
   * for each session that never finished `connect` by its deadline, and `late` for each
   * session closing for a protocol error whose replies are overdue.
   */
  sweep(
    now: number,
    expire: (s: Session) => void,
    stale: (s: Session) => void,
    late: (s: Session) => void,
  ): void {
    for (const session of this.#sessions.values()) {
      if (session.closing !== null) {
        if (session.closing.deadline <= now) late(session)
      } else if (session.state === CONNECTED) {
        if (session.expiresAt !== 0 && session.expiresAt <= now) expire(session)
      } else if (
        session.state === CONNECTING &&
        !session.connecting &&
        session.connectDeadline <= now
      ) {
        stale(session)
      }
    }
  }
}
