import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { SwitchboardError } from '../errors/index.ts'
import type { Identity, TicketUse } from './auth.ts'

/** Options of {@link StreamTickets.issue}. */
export interface TicketOptions {
  /** Lifetime in milliseconds. Default 30 000; never past the identity's own `expiresAt`. */
  ttl?: number
  /** The channels a stream opened with the ticket may carry (any of them, in any order). A
   * ticket without channels opens no stream. */
  channels?: readonly string[]
  /** Also valid for POST commands (publish, rpc, history, presence, ping). Default false: a
   * ticket travels in a URL, so by default it can only read the channels it names. */
  commands?: boolean
}

/** A ticket's default lifetime: long enough to open a stream, short enough that a URL that
 * leaked (a log, a referrer) is soon worthless. */
export const DEFAULT_TICKET_TTL = 30_000

/** base64url(HMAC-SHA256): 32 bytes in 43 characters, no padding. */
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/

function unauthorized(message = 'The stream ticket is invalid'): never {
  throw new SwitchboardError('SWB_ERR_AUTH_UNAUTHORIZED', message)
}

interface Payload {
  u?: unknown
  i?: unknown
  e?: unknown
  c?: unknown
  a?: unknown
  x?: unknown
  s?: unknown
  m?: unknown
}

/**
 * Short-lived stream tickets: a browser's `EventSource` cannot send an `Authorization` header,
 * so the page first obtains a ticket over an authenticated `fetch` and opens
 * `/…/stream?channel=…&ticket=…`. A ticket is an HMAC-SHA256-signed identity with its own short
 * lifetime, scoped to the channels it was issued for and to streams (commands only when issued
 * for them). Nodes sharing `secret` accept each other's tickets (no sticky sessions).
 *
 * Format: `base64url(JSON payload) "." base64url(HMAC-SHA256(secret, payload part))`. Only that
 * exact signature text is accepted (no padding, no other alphabet), compared in constant time.
 * A ticket is not single-use: see docs/security.md for why, and what bounds a replay.
 *
 * @example
 * const tickets = new StreamTickets({ secret: process.env.TICKET_SECRET })
 * const ticket = tickets.issue({ user: 'u1' }, { channels: ['chat:lobby'] })
 * tickets.verify(ticket, { kind: 'stream', channels: ['chat:lobby'] }) // { user: 'u1' }
 */
export class StreamTickets {
  readonly #secret: Buffer
  readonly #now: () => number

  constructor(options: { secret?: string | Uint8Array; now?: () => number } = {}) {
    const s = options.secret
    this.#secret = s === undefined ? randomBytes(32) : Buffer.from(s as string)
    if (this.#secret.length < 16) {
      throw new SwitchboardError('SWB_ERR_INVALID_OPTION', 'ticketSecret must be at least 16 bytes')
    }
    this.#now = options.now ?? Date.now
  }

  /** Issues a ticket for `identity`. */
  issue(identity: Identity, options: TicketOptions = {}): string {
    const ttl = options.ttl ?? DEFAULT_TICKET_TTL
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl <= 0) {
      throw new SwitchboardError('SWB_ERR_INVALID_OPTION', 'ticket ttl must be a positive integer')
    }
    const channels = options.channels ?? []
    if (!Array.isArray(channels) || !channels.every((c) => typeof c === 'string')) {
      throw new SwitchboardError('SWB_ERR_INVALID_OPTION', 'ticket channels must be strings')
    }
    if (channels.length === 0 && options.commands !== true) {
      throw new SwitchboardError(
        'SWB_ERR_INVALID_OPTION',
        'a ticket needs the channels of its stream, or commands: true',
      )
    }
    let expires = this.#now() + ttl
    if (identity.expiresAt !== undefined) expires = Math.min(expires, identity.expiresAt)
    const payload: Payload = {
      u: identity.user,
      i: identity.info,
      e: identity.expiresAt,
      c: identity.channels,
      a: identity.authorizeChannels === true ? 1 : undefined,
      x: expires,
      s: channels.length === 0 ? undefined : channels,
      m: options.commands === true ? 1 : undefined,
    }
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url')
    return `${body}.${this.#sign(body)}`
  }

  /**
   * Returns the identity of a valid, unexpired ticket presented for `use`: a stream whose every
   * channel the ticket names, or commands when it was issued for them. Throws
   * `SWB_ERR_AUTH_UNAUTHORIZED`, or `SWB_ERR_AUTH_TOKEN_EXPIRED` for an expired ticket. The
   * identity's own expiry is checked by the caller (`hub.authenticate`), as for any identity.
   */
  verify(ticket: string, use: TicketUse): Identity {
    if (typeof ticket !== 'string') unauthorized()
    const dot = ticket.indexOf('.')
    if (dot <= 0) unauthorized()
    const body = ticket.slice(0, dot)
    const sig = ticket.slice(dot + 1)
    // The canonical text only: base64url decoding would also take padding, `+/`, and stray
    // characters, so several strings would carry one signature.
    if (!SIGNATURE.test(sig)) unauthorized()
    const want = Buffer.from(this.#sign(body), 'latin1')
    if (!timingSafeEqual(Buffer.from(sig, 'latin1'), want)) unauthorized()
    let p: Payload
    try {
      p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Payload
    } catch {
      unauthorized()
    }
    if (p === null || typeof p !== 'object') unauthorized()
    if (typeof p.x !== 'number' || p.x <= this.#now()) {
      throw new SwitchboardError('SWB_ERR_AUTH_TOKEN_EXPIRED', 'The stream ticket expired')
    }
    if (use.kind === 'commands') {
      if (p.m !== 1) unauthorized('This ticket opens a stream; it was not issued for commands')
    } else {
      const scope = Array.isArray(p.s) ? (p.s as unknown[]) : []
      for (const channel of use.channels) {
        if (!scope.includes(channel)) {
          unauthorized(`The stream ticket was not issued for channel ${JSON.stringify(channel)}`)
        }
      }
    }
    return {
      user: typeof p.u === 'string' ? p.u : '',
      ...(p.i === undefined ? null : { info: p.i }),
      ...(typeof p.e === 'number' ? { expiresAt: p.e } : null),
      ...(Array.isArray(p.c) ? { channels: p.c as string[] } : null),
      ...(p.a === 1 ? { authorizeChannels: true } : null),
    }
  }

  #sign(body: string): string {
    return createHmac('sha256', this.#secret).update(body).digest('base64url')
  }
}
