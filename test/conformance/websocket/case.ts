/**
 * What a conformance case is, how one run of it goes (connect, handshake, deliver in a mode,
 * collect the server's behaviour until it closes or a deadline passes) and how the outcome is
 * judged against the case's expectation.
 *
 * @example
 * const outcome = await runCase(port, someCase, 'bytes', 'seed-1')
 * const problems = judge(someCase.expect, outcome)
 */
import { type HttpHead, type Msg, RawClient, upgradeRequest } from './client.ts'
import { type DeflateParams, MessageInflater, parseDeflateResponse } from './deflate.ts'
import { deliver, type Mode, seededRandom } from './delivery.ts'

export interface Expect {
  /** Accepted HTTP statuses for the handshake (default [101]). */
  status?: number[]
  /** Extra checks on the response head; each returns a problem or null. */
  head?: Array<(head: HttpHead) => string | null>
  /** For a 101: must permessage-deflate be accepted ('required'), refused ('refused') or either? */
  deflate?: 'required' | 'refused' | 'either'
  /** Echoes and pongs the server must send, in order, before its close frame. */
  events?: Msg[]
  /**
   * Close codes accepted from the server (1005 = an empty close payload), or 'none' when the
   * server is expected not to close before the deadline (only used in control notes).
   */
  close?: number[] | 'none'
  /**
   * Upper bound (ms) from the last request byte written to the complete response head, for
   * cases about linear-time parsing (delivery time is not counted).
   */
  maxResponseMs?: number
}

/** Why the `ws` control is expected to behave differently, and how it behaves instead. */
export interface ControlNote {
  why: 'ws-lenient' | 'case-wrong'
  note: string
  /** Replaces fields of the case's expectation when judging `ws`. */
  expect: Expect
  /** Only these delivery modes differ (all when absent). */
  modes?: Mode[]
  /** A shorter deadline for `ws`, when what it does instead is to stay silent. */
  deadlineMs?: number
}

export interface Case {
  /** Autobahn-style id; the part before the first dot is the group. */
  id: string
  group: string
  /** A behaviour sentence. */
  title: string
  /** The request, when the case is about the handshake; it is then what the mode delivers. */
  request?: Buffer[]
  /** Sec-WebSocket-Extensions offered by the default request. */
  extensions?: string
  /** Bytes sent after a 101, as units (frames); a function when they depend on the negotiation. */
  frames: Buffer[] | ((neg: DeflateParams | null) => Promise<Buffer[]>)
  /** The frames include a client close frame. */
  clientCloses: boolean
  expect: Expect
  deadlineMs?: number
  control?: ControlNote
  /**
   * Delivery modes this case runs in (all four when absent). Only for a behaviour of Node's own
   * HTTP layer that depends on how the request is cut, with the reason next to the case.
   */
  modes?: Mode[]
}

export interface Outcome {
  head: HttpHead | null
  events: Msg[]
  closeFrame: { code: number; reason: Buffer } | null
  tcpClosed: boolean
  violations: string[]
  negotiated: DeflateParams | null
  elapsedMs: number
  /** From the last request byte written to the complete response head (null: no head). */
  responseMs: number | null
  error: string | null
}

export const DEFAULT_DEADLINE_MS = 5000

/** Runs one case once against a server on `port`, delivering it in `mode`. */
export async function runCase(port: number, c: Case, mode: Mode, seed: string): Promise<Outcome> {
  const started = Date.now()
  const deadline = started + (c.deadlineMs ?? DEFAULT_DEADLINE_MS)
  const random = seededRandom(`${seed}/${c.id}/${mode}`)
  const outcome: Outcome = {
    head: null,
    events: [],
    closeFrame: null,
    tcpClosed: false,
    violations: [],
    negotiated: null,
    elapsedMs: 0,
    responseMs: null,
    error: null,
  }
  let client: RawClient | null = null
  try {
    client = await RawClient.connect(port, deadline)
    const cl = client
    const headers: Array<[string, string]> = c.extensions
      ? [['Sec-WebSocket-Extensions', c.extensions]]
      : []
    const request = c.request ?? upgradeRequest({ headers })
    if (c.request) await deliver(cl.socket, request, mode, random, cl.alive)
    else cl.socket.write(Buffer.concat(request))
    const requestSentAt = Date.now()
    await cl.waitFor(() => cl.head !== null, deadline)
    if (cl.head) outcome.responseMs = Math.max(0, cl.headAt - requestSentAt)
    if (cl.head?.status === 101) {
      try {
        outcome.negotiated = parseDeflateResponse(cl.head.get('sec-websocket-extensions'))
      } catch (err) {
        cl.violations.push(`bad extension response: ${(err as Error).message}`)
      }
      const neg = outcome.negotiated
      if (neg)
        cl.inflater = new MessageInflater(neg.serverMaxWindowBits, neg.serverNoContextTakeover)
      const frames = typeof c.frames === 'function' ? await c.frames(neg) : c.frames
      cl.sentClose = c.clientCloses
      if (c.request) cl.socket.write(Buffer.concat(frames))
      else await deliver(cl.socket, frames, mode, random, cl.alive)
      await cl.waitFor(() => cl.tcpClosed, deadline)
    } else if (cl.head) {
      // A refusal: give the server a moment to finish its body, but do not wait for TCP close
      // (a plain HTTP response may keep the connection alive).
      await cl.waitFor(() => cl.tcpClosed, Math.min(deadline, Date.now() + 20))
    }
  } catch (err) {
    outcome.error = (err as Error).message
  } finally {
    if (client) {
      outcome.head = client.head
      outcome.events = client.events
      outcome.closeFrame = client.closeFrame
      outcome.tcpClosed = client.tcpClosed
      outcome.violations = client.violations
      client.destroy()
    }
    outcome.elapsedMs = Date.now() - started
  }
  return outcome
}

/** The case as run against a target: the control may have its own deadline. */
export function caseFor(c: Case, target: 'switchboard' | 'ws', mode: Mode): Case {
  const note = c.control
  if (target !== 'ws' || !note?.deadlineMs || (note.modes && !note.modes.includes(mode))) return c
  return { ...c, deadlineMs: note.deadlineMs }
}

/** The expectation that applies to a target: the control may carry a recorded difference. */
export function expectationFor(c: Case, target: 'switchboard' | 'ws', mode: Mode): Expect {
  const note = c.control
  if (target !== 'ws' || !note || (note.modes && !note.modes.includes(mode))) return c.expect
  return { ...c.expect, ...note.expect }
}

/** Compares an outcome with an expectation; an empty list means the case passed. */
export function judge(expect: Expect, o: Outcome): string[] {
  const problems: string[] = []
  if (o.error) problems.push(`client error: ${o.error}`)
  if (!o.head) {
    problems.push('no HTTP response before the deadline')
    return problems
  }
  const statuses = expect.status ?? [101]
  if (!statuses.includes(o.head.status))
    problems.push(`HTTP status ${o.head.status}, expected ${statuses.join(' or ')}`)
  for (const check of expect.head ?? []) {
    const p = check(o.head)
    if (p) problems.push(p)
  }
  if (expect.maxResponseMs !== undefined && (o.responseMs ?? 0) > expect.maxResponseMs)
    problems.push(`answered ${o.responseMs} ms after the request, limit ${expect.maxResponseMs} ms`)
  if (o.head.status !== 101) return problems
  const deflate = expect.deflate ?? 'either'
  if (deflate === 'required' && !o.negotiated) problems.push('permessage-deflate was not accepted')
  if (deflate === 'refused' && o.negotiated) problems.push('permessage-deflate was accepted')
  problems.push(...o.violations)
  const want = expect.events ?? []
  const n = Math.max(want.length, o.events.length)
  for (let i = 0; i < n; i++) {
    const w = want[i]
    const g = o.events[i]
    if (w && g && w.type === g.type && w.data.equals(g.data)) continue
    problems.push(`event ${i}: expected ${describe(w)}, got ${describe(g)}`)
    break
  }
  const close = expect.close ?? [1000, 1005]
  if (close === 'none') {
    if (o.closeFrame)
      problems.push(`server closed with ${o.closeFrame.code}, expected it to stay open`)
    return problems
  }
  if (!o.closeFrame)
    problems.push(
      `no close frame (expected ${close.join('/')}); TCP ${o.tcpClosed ? 'closed' : 'open at deadline'}`,
    )
  else {
    if (!close.includes(o.closeFrame.code))
      problems.push(`close code ${o.closeFrame.code}, expected ${close.join('/')}`)
    if (!o.tcpClosed)
      problems.push('server did not close the TCP connection after the close handshake')
  }
  return problems
}

function describe(m: Msg | undefined): string {
  if (!m) return 'nothing'
  const head = m.data.subarray(0, 12)
  const shown = m.type === 'text' ? JSON.stringify(head.toString('utf8')) : head.toString('hex')
  return `${m.type}(${m.data.length} B: ${shown}${m.data.length > 12 ? '…' : ''})`
}
