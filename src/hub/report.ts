// Where the hub's caught errors go: the app's logger, with who and what they concern, at a
// level by kind, and the `onError` option for those nobody was answered about.
import { SwitchboardError } from '../errors/index.ts'
import type { Session } from './session.ts'

/** The logger methods the hub uses (a pino logger has them). */
export interface HubLogger {
  debug(fields: object, message: string): void
  warn(fields: object, message: string): void
  error(fields: object, message: string): void
}

/** What a caught error concerns, as far as the code that caught it knows. */
export interface ErrorScope {
  /** The session (its id and user are logged). */
  readonly session?: Session | null | undefined
  /** The user, when there is no session (an HTTP command). */
  readonly user?: string | undefined
  readonly channel?: string | undefined
  /** The command or operation that failed (`'publish'`, `'rpc'`, `'fan-out'`…). */
  readonly op?: string | undefined
}

/** Reports a caught error (see {@link errorReporter}). */
export type Report = (error: unknown, scope?: ErrorScope) => void

const INTERNAL = 'SWB_ERR_HUB_INTERNAL'

/** The error code logged for a thrown value: its own, or SWB_ERR_HUB_INTERNAL for a bare error. */
export function codeOf(error: unknown): string {
  return error instanceof SwitchboardError ? error.code : INTERNAL
}

/**
 * The hub's error report. Each caught error is logged with its code, session, user, channel and
 * operation, at a level that keeps `info` quiet in normal operation:
 * - `debug`: refusals answered to the client with a coded error below 500 (a forbidden
 *   subscribe, a schema mismatch, a bad token): the client was told, nothing is wrong here;
 * - `warn`: the broker or the hub is unavailable (503), the client was told to retry;
 * - `error`: everything else — a throwing rpc handler, `canPublish` or `canSubscribe` hook, a
 *   failed fan-out, a broker failure nobody awaited.
 * Errors at `warn` and `error` also go to `onError`, as before there was a logger.
 */
export function errorReporter(logger: HubLogger | null, onError: (error: unknown) => void): Report {
  return (error, scope) => {
    const status = error instanceof SwitchboardError ? error.status : 500
    const level = status < 500 ? 'debug' : status === 503 ? 'warn' : 'error'
    if (logger !== null) {
      const session = scope?.session
      const fields: Record<string, unknown> = { err: error, code: codeOf(error) }
      if (session) {
        fields.session = session.id
        fields.user = session.user
      } else if (scope?.user !== undefined) fields.user = scope.user
      if (scope?.channel !== undefined) fields.channel = scope.channel
      if (scope?.op !== undefined) fields.op = scope.op
      logger[level](fields, level === 'debug' ? 'hub refused a command' : 'hub caught an error')
    }
    if (level !== 'debug') onError(error)
  }
}
