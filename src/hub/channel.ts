/**
 * Channel names.
 *
 * ```
 * channel   = [ namespace ":" ] rest             ; at most MAX_CHANNEL_LENGTH characters
 * namespace = 1*64( ALPHA / DIGIT / "_" / "-" )
 * rest      = 1*( ALPHA / DIGIT / "_" / "-" / "." / ":" / "@" / "=" / "/" )
 * ```
 * A name neither starts nor ends with `:`. The namespace is the part before the first `:`, and
 * must fit the namespace grammar (a name whose prefix cannot be a namespace is invalid); a
 * name without `:` belongs to the default namespace `''`. Examples: `chat:room-42`, `ticker:EUR/USD`, `user:42:inbox`, `lobby`.
 * The set leaves out `,`, whitespace, `%`, `?`, `&`, `#` and `+`, so a name can sit unescaped in
 * a query string (`?channel=chat:room-42`), an SSE id, a Redis key or a NATS subject token
 * (where the hub maps `.`-free names).
 *
 * @example
 * parseChannel('chat:room-42') // { namespace: 'chat', name: 'chat:room-42' }
 */
export const MAX_CHANNEL_LENGTH = 255

const CHANNEL = /^(?:([A-Za-z0-9_-]{1,64}):)?[A-Za-z0-9_\-.:@=/]+$/

/** A valid channel name split into its namespace. */
export interface ChannelName {
  readonly name: string
  /** Namespace name; `''` is the default namespace. */
  readonly namespace: string
}

/** Parses a channel name, or returns `null` when it does not fit the grammar. */
export function parseChannel(name: unknown): ChannelName | null {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_CHANNEL_LENGTH) return null
  if (name.charCodeAt(0) === 58 || name.charCodeAt(name.length - 1) === 58) return null // ':'
  const m = CHANNEL.exec(name)
  if (m === null) return null
  // The part before the first ':' is the namespace: when it cannot be one (over 64 characters,
  // or '.', '@', '=', '/' in it) the name is refused, never moved to the default namespace.
  if (m[1] === undefined && name.includes(':')) return null
  return { name, namespace: m[1] ?? '' }
}

/** Whether `name` is a valid channel name. */
export function isValidChannel(name: unknown): name is string {
  return parseChannel(name) !== null
}
