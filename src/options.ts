import type { Logger, LoggerOptions } from 'pino'
import { SwitchboardError } from './errors/index.ts'
import type { MetricsOptions } from './ops/prometheus.ts'

/**
 * Options of `new Switchboard(options)`. Every field is optional; the defaults are safe for a
 * public server. Validated once in the constructor (the error names the option), then frozen.
 */
export interface SwitchboardOptions {
  /** Interface to listen on. Default `'127.0.0.1'`; use `'0.0.0.0'` or `'::'` to serve others. */
  host?: string
  /** Port to listen on. Default 3000; 0 picks a free port (see the address `listen()` returns). */
  port?: number
  /** Disable Nagle's algorithm on sockets (lower latency for small writes). Default true. */
  noDelay?: boolean
  /** How long an idle keep-alive socket stays open, ms. Default 5,000. */
  keepAliveTimeout?: number
  /** Time allowed to receive the request headers, ms. Default 30,000. */
  headersTimeout?: number
  /** Time allowed to receive the whole request, ms (408 after). Default 120,000; 0 disables. */
  requestTimeout?: number
  /** Largest request head in bytes (431 beyond). Default 16,384. */
  maxHeaderSize?: number
  /** Largest request body in bytes read by `ctx.read*()` (413 beyond). Default 1 MiB. */
  bodyLimit?: number
  /** TCP listen backlog. Default 511. */
  backlog?: number
  /**
   * Which proxies to trust for `X-Forwarded-For` when computing `ctx.ip`. Default false (the
   * socket's peer). `true` trusts every hop; a number trusts that many hops; strings or an
   * array name trusted addresses or subnets (`'loopback'`, `'10.0.0.0/8'`), as in proxy-addr.
   */
  trustProxy?: boolean | number | string | readonly string[]
  /** Development mode: error responses include the stack. Default false. */
  dev?: boolean
  /** A pino logger, pino options, or false for none. Default: pino at `LOG_LEVEL` or `'info'`. */
  logger?: Logger | LoggerOptions | false
  /** Log one line per request when it finishes. Default false. */
  logRequests?: boolean
  /** Incoming header read for the request id when `trustRequestId` is on; false to always
   * generate. Default `'x-request-id'`. */
  requestIdHeader?: string | false
  /** Use a well-formed incoming `requestIdHeader` value as `ctx.requestId` (and echo it).
   * Default false: a client could otherwise pick ids that collide with others' in your logs;
   * turn it on behind a proxy that sets the header itself. */
  trustRequestId?: boolean
  /**
   * Prometheus metrics (see docs/operations.md): `true` serves `GET /metrics` on the app's port;
   * `{ path, port, host, defaultMetrics, labels }` chooses the path or a separate port. Default
   * false: nothing is measured until `app.metrics()` is called.
   */
  metrics?: boolean | MetricsOptions
}

export type ResolvedOptions = Readonly<Required<Omit<SwitchboardOptions, 'logger'>>> & {
  readonly logger: SwitchboardOptions['logger']
}

const DEFAULTS: ResolvedOptions = {
  host: '127.0.0.1',
  port: 3000,
  noDelay: true,
  keepAliveTimeout: 5_000,
  headersTimeout: 30_000,
  requestTimeout: 120_000,
  maxHeaderSize: 16_384,
  bodyLimit: 1024 * 1024,
  backlog: 511,
  trustProxy: false,
  dev: false,
  logger: undefined,
  logRequests: false,
  requestIdHeader: 'x-request-id',
  trustRequestId: false,
  metrics: false,
}

function invalid(name: string, expected: string, value: unknown): never {
  throw new SwitchboardError(
    'SWB_ERR_INVALID_OPTION',
    `Option "${name}" must be ${expected}; got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`,
  )
}

/** Checks an integer option; `min` is inclusive. */
export function checkInteger(
  name: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(name, `an integer from ${min} to ${max}`, value)
  }
  return value
}

/** Spreads the defaults once, validates every field, and freezes the result. */
export function resolveOptions(options: SwitchboardOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) invalid('options', 'an object', options)
  const o = { ...DEFAULTS, ...options } as ResolvedOptions & Record<string, unknown>
  for (const key of Object.keys(options)) {
    if (!(key in DEFAULTS)) invalid(key, 'a known option (unknown name)', key)
  }
  if (typeof o.host !== 'string' || o.host === '') invalid('host', 'a non-empty string', o.host)
  checkInteger('port', o.port, 0, 65_535)
  checkInteger('keepAliveTimeout', o.keepAliveTimeout, 0)
  checkInteger('headersTimeout', o.headersTimeout, 1)
  checkInteger('requestTimeout', o.requestTimeout, 0)
  checkInteger('maxHeaderSize', o.maxHeaderSize, 1024, 1024 * 1024)
  checkInteger('bodyLimit', o.bodyLimit, 0)
  checkInteger('backlog', o.backlog, 1)
  if (typeof o.noDelay !== 'boolean') invalid('noDelay', 'a boolean', o.noDelay)
  if (typeof o.dev !== 'boolean') invalid('dev', 'a boolean', o.dev)
  if (typeof o.logRequests !== 'boolean') invalid('logRequests', 'a boolean', o.logRequests)
  if (typeof o.trustRequestId !== 'boolean') {
    invalid('trustRequestId', 'a boolean', o.trustRequestId)
  }
  if (
    o.requestIdHeader !== false &&
    (typeof o.requestIdHeader !== 'string' || o.requestIdHeader === '')
  ) {
    invalid('requestIdHeader', 'a header name or false', o.requestIdHeader)
  }
  const m = o.metrics
  if (typeof m !== 'boolean' && (typeof m !== 'object' || m === null || Array.isArray(m))) {
    invalid('metrics', 'a boolean or an object of metrics options', m)
  }
  if (typeof m === 'object') {
    if (m.path !== undefined && (typeof m.path !== 'string' || !m.path.startsWith('/'))) {
      invalid('metrics.path', 'a path starting with /', m.path)
    }
    if (m.port !== undefined) checkInteger('metrics.port', m.port, 0, 65_535)
    if (m.host !== undefined && (typeof m.host !== 'string' || m.host === '')) {
      invalid('metrics.host', 'a non-empty string', m.host)
    }
  }
  const tp = o.trustProxy
  if (
    !(
      typeof tp === 'boolean' ||
      typeof tp === 'string' ||
      Array.isArray(tp) ||
      (typeof tp === 'number' && Number.isInteger(tp) && tp >= 0)
    )
  ) {
    invalid('trustProxy', 'a boolean, a hop count, or trusted addresses', tp)
  }
  if (o.requestTimeout !== 0 && o.headersTimeout > o.requestTimeout) {
    invalid('headersTimeout', `at most requestTimeout (${o.requestTimeout})`, o.headersTimeout)
  }
  return Object.freeze(o)
}
