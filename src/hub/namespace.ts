import type { HistoryOptions } from '../broker/index.ts'
import { SwitchboardError } from '../errors/index.ts'
import { parseChannel } from './channel.ts'
import { describeIssues, type StandardSchemaV1 } from './schema.ts'

/**
 * What happens when a session's outbox is over its byte limit (or its transport is blocked):
 * - `drop-oldest`: the oldest queued publications go first;
 * - `conflate`: a queued publication is replaced by a newer one with the same `key` (latest
 *   cursor position, latest price), then the oldest go;
 * - `disconnect`: the session is disconnected with 3001 (reconnect allowed), and the client
 *   resumes with `since`.
 * Every dropped publication is counted and reported to the client in a `gap` push.
 */
export type SlowConsumerPolicy = 'drop-oldest' | 'conflate' | 'disconnect'

/** Who is asking, passed to the authorization hooks. */
export interface ChannelContext {
  readonly channel: string
  /** Authenticated user id ('' for anonymous, or for the server itself). */
  readonly user: string
  /** Connection id ('' for HTTP POST and server calls). */
  readonly client: string
  /** Connect-time info of the connection. */
  readonly info?: unknown
}

/**
 * Options of a channel namespace, declared once with `hub.namespace(name, options)`.
 *
 * @example
 * hub.namespace('chat', {
 *   historySize: 50, historyTtl: 600_000, presence: true, joinLeave: true, clientPublish: true,
 *   schema: z.object({ text: z.string().max(500) }),
 *   canSubscribe: ({ user }) => user !== '',
 * })
 */
export interface NamespaceOptions<S extends StandardSchemaV1 = StandardSchemaV1> {
  /** Publications kept per channel for history and recovery; 0 disables both. Default 100. */
  historySize?: number
  /** Milliseconds a publication is kept. Default 300 000 (5 min). */
  historyTtl?: number
  /** Most publications a resubscribe may recover; more missed means `recovered: false`.
   * Default `historySize`. */
  recoveryLimit?: number
  /** Track who is subscribed (presence queries). Default false. */
  presence?: boolean
  /** Push `join` and `leave` to subscribers (needs `presence`). Default false. */
  joinLeave?: boolean
  /** Above this many members a channel reports counts only: presence answers carry no member
   * list and join/leave pushes stop. Default 1000. */
  presenceMaxMembers?: number
  /** Whether clients may publish (the server always may). Default false. */
  clientPublish?: boolean
  /** Schema every publication must match (any Standard Schema v1 library). */
  schema?: S
  /** Decides whether a client may subscribe. Default: everyone may. */
  canSubscribe?: (ctx: ChannelContext) => boolean | Promise<boolean>
  /** Decides whether a client may publish `data` (checked after `clientPublish`). */
  canPublish?: (ctx: ChannelContext, data: unknown) => boolean | Promise<boolean>
  /** Slow-consumer policy. Default `'disconnect'`. */
  slowConsumer?: SlowConsumerPolicy
  /** Milliseconds a publish idempotency key is remembered. Default 120 000. */
  idempotencyWindow?: number
  /** Send `time` (when the broker stored it, ms since the Unix epoch) with every publication
   * clients get: live, recovered and in history answers. Default false: 21 bytes a publication
   * most applications do not read (put a time in `data` when only some need it). */
  timestamps?: boolean
  /** Type-only annotation for typed clients when there is no schema
   * (`{ data: {} as Cursor }`): the SDK reads its type; the hub ignores the value. */
  data?: unknown
}

/** A namespace with every option resolved, made once at registration. */
export interface Namespace {
  readonly name: string
  readonly history: HistoryOptions
  readonly recoveryLimit: number
  readonly presence: boolean
  readonly joinLeave: boolean
  readonly presenceMaxMembers: number
  readonly clientPublish: boolean
  readonly schema: StandardSchemaV1 | null
  readonly canSubscribe: NonNullable<NamespaceOptions['canSubscribe']> | null
  readonly canPublish: NonNullable<NamespaceOptions['canPublish']> | null
  readonly slowConsumer: SlowConsumerPolicy
  readonly idempotencyWindow: number
  readonly timestamps: boolean
}

const POLICIES = new Set<SlowConsumerPolicy>(['drop-oldest', 'conflate', 'disconnect'])

function bad(name: string, option: string, detail: string): never {
  throw new SwitchboardError(
    'SWB_ERR_INVALID_OPTION',
    `namespace ${JSON.stringify(name)}: ${option} ${detail}`,
  )
}

function count(name: string, option: string, value: unknown, fallback: number, min = 0): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    bad(name, option, `must be an integer >= ${min}, got ${String(value)}`)
  }
  return value
}

/** Validates namespace options once, fills defaults and freezes the result. */
export function resolveNamespace(name: string, options: NamespaceOptions = {}): Namespace {
  if (name !== '' && !/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
    bad(name, 'name', 'must be 1-64 characters of A-Z a-z 0-9 _ -')
  }
  const historySize = count(name, 'historySize', options.historySize, 100)
  const historyTtl = count(name, 'historyTtl', options.historyTtl, 300_000, 1)
  const policy = options.slowConsumer ?? 'disconnect'
  if (!POLICIES.has(policy)) bad(name, 'slowConsumer', `must be one of ${[...POLICIES].join(', ')}`)
  for (const hook of ['canSubscribe', 'canPublish'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function') {
      bad(name, hook, 'must be a function')
    }
  }
  const schema = options.schema ?? null
  if (schema !== null && typeof schema['~standard']?.validate !== 'function') {
    bad(name, 'schema', 'must implement Standard Schema v1 (a ~standard.validate function)')
  }
  if (options.joinLeave === true && options.presence !== true) {
    bad(name, 'joinLeave', 'needs presence: true')
  }
  return Object.freeze({
    name,
    history: Object.freeze({ size: historySize, ttl: historyTtl }),
    recoveryLimit: count(name, 'recoveryLimit', options.recoveryLimit, historySize),
    presence: options.presence === true,
    joinLeave: options.joinLeave === true,
    presenceMaxMembers: count(name, 'presenceMaxMembers', options.presenceMaxMembers, 1000),
    clientPublish: options.clientPublish === true,
    schema,
    canSubscribe: options.canSubscribe ?? null,
    canPublish: options.canPublish ?? null,
    slowConsumer: policy,
    idempotencyWindow: count(name, 'idempotencyWindow', options.idempotencyWindow, 120_000, 1),
    timestamps: options.timestamps === true,
  })
}

/**
 * The namespaces of a hub: declared once each, looked up per channel name, and the two checks
 * they carry (authorization and schema). The default namespace `''` exists with default options
 * until the application declares it.
 *
 * @example
 * const namespaces = new Namespaces()
 * namespaces.declare('chat', { clientPublish: true })
 * namespaces.of('chat:lobby').clientPublish // true
 */
export class Namespaces {
  readonly #byName = new Map<string, Namespace>([['', resolveNamespace('')]])
  readonly #declared = new Set<string>()

  /** Declares a namespace; declaring one twice throws `SWB_ERR_INVALID_OPTION`. */
  declare(name: string, options: NamespaceOptions = {}): Namespace {
    if (this.#declared.has(name)) bad(name, 'namespace', 'is already declared')
    const ns = resolveNamespace(name, options)
    this.#declared.add(name)
    this.#byName.set(name, ns)
    return ns
  }

  /** The namespace of a channel; throws `SWB_ERR_CHANNEL_INVALID_NAME` or
   * `SWB_ERR_CHANNEL_UNKNOWN_NAMESPACE`. */
  of(channel: string): Namespace {
    const parsed = parseChannel(channel)
    if (parsed === null) {
      const prefix = typeof channel === 'string' ? channel.split(':', 1)[0]! : ''
      const why =
        typeof channel === 'string' &&
        channel.includes(':') &&
        !/^[A-Za-z0-9_-]{1,64}$/.test(prefix)
          ? ": the part before the first ':' must be a namespace name (1-64 of A-Z a-z 0-9 _ -)"
          : ''
      throw new SwitchboardError(
        'SWB_ERR_CHANNEL_INVALID_NAME',
        `Invalid channel name ${JSON.stringify(String(channel).slice(0, 300))}${why}`,
      )
    }
    const ns = this.#byName.get(parsed.namespace)
    if (ns === undefined) {
      throw new SwitchboardError(
        'SWB_ERR_CHANNEL_UNKNOWN_NAMESPACE',
        `No namespace ${JSON.stringify(parsed.namespace)}`,
      )
    }
    return ns
  }

  /** Runs `canSubscribe`; throws `SWB_ERR_CHANNEL_FORBIDDEN` unless it answers `true`. */
  async checkSubscribe(ns: Namespace, ctx: ChannelContext): Promise<void> {
    if (ns.canSubscribe === null) return
    if ((await ns.canSubscribe(ctx)) !== true)
      throw new SwitchboardError('SWB_ERR_CHANNEL_FORBIDDEN')
  }

  /** Runs `canPublish`; throws `SWB_ERR_CHANNEL_FORBIDDEN` unless it answers `true`. */
  async checkPublish(ns: Namespace, ctx: ChannelContext, data: unknown): Promise<void> {
    if (ns.canPublish === null) return
    if ((await ns.canPublish(ctx, data)) !== true) {
      throw new SwitchboardError('SWB_ERR_CHANNEL_FORBIDDEN')
    }
  }

  /** Validates `data` against the schema; resolves to the schema's output, or throws
   * `SWB_ERR_CHANNEL_SCHEMA` naming the issues. */
  async validate(ns: Namespace, data: unknown): Promise<unknown> {
    if (ns.schema === null) return data
    const result = await ns.schema['~standard'].validate(data)
    if (result.issues !== undefined) {
      throw new SwitchboardError('SWB_ERR_CHANNEL_SCHEMA', describeIssues(result.issues))
    }
    return result.value
  }
}
