import type { StreamPosition } from './messages.ts'

/**
 * SSE event ids that carry the cursor of **every** channel on a stream, so a browser's native
 * `EventSource` resumes a multi-channel stream with nothing but `Last-Event-ID`.
 *
 * Grammar (ABNF, RFC 5234):
 * ```
 * event-id = "1" *( "," cursor )          ; "1" = format version
 * cursor   = ref "." offset "." epoch
 * ref      = 1*DIGIT                       ; index into the stream URL's channel=… list
 *          / "~" channel                   ; a channel not in the URL (server-side subscribe)
 * offset   = 1*( DIGIT / %x61-7A )         ; base 36, lower case
 * epoch    = 1*64( ALPHA / DIGIT / "-" / "_" )
 * ```
 * Example for `?channel=chat:a&channel=news`: `1,0.2s.k3j9a,1.0.k3j9a` (chat:a at offset 100,
 * news at 0). Channel names never hold `,`, CR, LF or NUL, and epochs never hold `.`, so the id
 * needs no escaping and stays a valid SSE id (no CR, LF or NUL; WHATWG HTML §9.2.6).
 *
 * @example
 * const id = encodeSseId([{ channel: 'chat:a', offset: 100, epoch: 'k3j9a' }], ['chat:a'])
 * parseSseId(id, ['chat:a']) // Map { 'chat:a' => { offset: 100, epoch: 'k3j9a' } }
 */
export const SSE_ID_VERSION = '1'

/** Longest `Last-Event-ID` the parser accepts. */
export const MAX_SSE_ID_LENGTH = 8192

const EPOCH = /^[A-Za-z0-9_-]{1,64}$/
const OFFSET = /^[0-9a-z]{1,11}$/
const INDEX = /^(0|[1-9][0-9]{0,3})$/
const BAD_NAME = /[,\r\n\0]/

/** A channel and its position, one entry of an SSE id. */
export interface ChannelCursor extends StreamPosition {
  readonly channel: string
}

/** Whether `epoch` fits the epoch grammar (what brokers must generate). */
export function isValidEpoch(epoch: string): boolean {
  return EPOCH.test(epoch)
}

/**
 * Encodes the cursors of a stream as an SSE id. `urlChannels` is the stream's `channel=` list in
 * URL order; channels found there are written by index. Throws on an epoch or name outside the
 * grammar (a broker bug, not client input).
 */
export function encodeSseId(
  cursors: Iterable<ChannelCursor>,
  urlChannels: readonly string[] = [],
): string {
  let id = SSE_ID_VERSION
  for (const c of cursors) {
    if (!EPOCH.test(c.epoch)) throw new TypeError(`epoch ${JSON.stringify(c.epoch)} is invalid`)
    if (!Number.isSafeInteger(c.offset) || c.offset < 0) throw new TypeError('offset is invalid')
    const index = urlChannels.indexOf(c.channel)
    let ref: string
    if (index >= 0) ref = String(index)
    else {
      if (c.channel.length === 0 || BAD_NAME.test(c.channel)) {
        throw new TypeError(`channel ${JSON.stringify(c.channel)} cannot appear in an SSE id`)
      }
      ref = `~${c.channel}`
    }
    id += `,${ref}.${c.offset.toString(36)}.${c.epoch}`
  }
  return id
}

/**
 * Parses a `Last-Event-ID` produced by {@link encodeSseId} for a stream whose URL lists
 * `urlChannels`. Returns the position of each channel, or `null` when the id is malformed or
 * too long (the hub then subscribes every channel of the stream fresh and says
 * `recovered: false` in each `subscribe` push: see docs/protocol.md).
 */
export function parseSseId(
  id: string,
  urlChannels: readonly string[] = [],
): Map<string, StreamPosition> | null {
  if (id.length > MAX_SSE_ID_LENGTH) return null
  const parts = id.split(',')
  if (parts[0] !== SSE_ID_VERSION) return null
  const out = new Map<string, StreamPosition>()
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i]!
    const last = part.lastIndexOf('.')
    const mid = last > 0 ? part.lastIndexOf('.', last - 1) : -1
    if (mid <= 0) return null
    const ref = part.slice(0, mid)
    const offsetText = part.slice(mid + 1, last)
    const epoch = part.slice(last + 1)
    if (!OFFSET.test(offsetText) || !EPOCH.test(epoch)) return null
    const offset = Number.parseInt(offsetText, 36)
    if (!Number.isSafeInteger(offset)) return null
    let channel: string | undefined
    if (ref.startsWith('~')) channel = ref.length > 1 ? ref.slice(1) : undefined
    else if (INDEX.test(ref)) channel = urlChannels[Number(ref)]
    if (channel === undefined || out.has(channel)) return null
    out.set(channel, { offset, epoch })
  }
  return out
}
