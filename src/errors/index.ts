import { brokerErrors } from './broker.ts'
import type { ErrorSpec } from './define.ts'
import { httpErrors } from './http.ts'
import { hubErrors } from './hub.ts'
import { sseErrors } from './sse.ts'
import { wsErrors } from './ws.ts'

export type { ErrorSpec } from './define.ts'

/**
 * The one coded error table. Each layer owns its own file of rows; this merges them.
 * `docs/errors.md` documents every code, and `errors.test.ts` fails when the two disagree.
 */
export const ERRORS = {
  ...httpErrors,
  ...wsErrors,
  ...sseErrors,
  ...hubErrors,
  ...brokerErrors,
} as const

/** Every `SWB_ERR_*` code Switchboard uses. */
export type ErrorCode = keyof typeof ERRORS

/**
 * Base class of every error Switchboard throws on purpose. It carries a stable `code`, and the
 * HTTP `status` and WebSocket `closeCode` the table gives that code.
 *
 * @example
 * throw new SwitchboardError('SWB_ERR_INVALID_OPTION', 'bodyLimit must be a positive integer')
 */
export class SwitchboardError extends Error {
  readonly code: ErrorCode | (string & {})
  readonly status: number
  readonly closeCode: number | undefined
  /** Whether `message` may be shown to clients. Table errors are safe; wrapped causes are not. */
  readonly expose: boolean
  /**
   * Structured facts about the error that clients may act on (for example the `channel` a
   * stream was refused for). Sent in the HTTP error body as `details` when the error is exposed.
   */
  readonly details: Readonly<Record<string, unknown>> | undefined

  constructor(
    code: ErrorCode | (string & {}),
    message?: string,
    options?: {
      cause?: unknown
      status?: number
      closeCode?: number
      expose?: boolean
      details?: Record<string, unknown>
    },
  ) {
    const spec = (ERRORS as Record<string, ErrorSpec>)[code]
    super(
      message ?? spec?.message ?? code,
      options?.cause === undefined ? undefined : { cause: options.cause },
    )
    this.name = 'SwitchboardError'
    this.code = code
    this.status = options?.status ?? spec?.status ?? 500
    this.closeCode = options?.closeCode ?? spec?.closeCode
    this.expose = options?.expose ?? true
    this.details = options?.details
  }
}

/**
 * An error that ends an HTTP request with `status`. The message is sent to the client for
 * statuses below 500 and, for 500 and above, only when `expose: true` is given.
 *
 * @example
 * throw new HttpError(403, 'Members only', { code: 'APP_ERR_MEMBERS_ONLY' })
 * throw new HttpError(409, 'Name taken', { code: 'APP_ERR_TAKEN', details: { name: 'ada' } })
 */
export class HttpError extends SwitchboardError {
  readonly headers: Record<string, string> | undefined

  constructor(
    status: number,
    message?: string,
    options?: {
      code?: string
      cause?: unknown
      headers?: Record<string, string>
      expose?: boolean
      /** Structured facts for clients, sent as `details` in the error body when exposed. */
      details?: Record<string, unknown>
    },
  ) {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new SwitchboardError(
        'SWB_ERR_INVALID_OPTION',
        `HttpError status must be 400-599, got ${status}`,
      )
    }
    super(options?.code ?? 'SWB_ERR_HTTP', message ?? statusMessage(status), {
      cause: options?.cause,
      status,
      expose: options?.expose ?? status < 500,
      ...(options?.details === undefined ? null : { details: options.details }),
    })
    this.name = 'HttpError'
    this.headers = options?.headers
  }
}

/** Creates the error of a table row, with an optional more specific message. */
export function createError(code: ErrorCode, message?: string, cause?: unknown): SwitchboardError {
  return new SwitchboardError(code, message, { cause })
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  422: 'Unprocessable Content',
  426: 'Upgrade Required',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

/** The reason phrase of an HTTP status, or a generic one. */
export function statusMessage(status: number): string {
  return STATUS_TEXT[status] ?? (status >= 500 ? 'Server Error' : 'Client Error')
}
