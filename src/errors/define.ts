/**
 * The shape of one row of the coded error table. Every error Switchboard raises or answers with
 * has a stable `SWB_ERR_*` code, a default message, and where it applies an HTTP status and/or a
 * WebSocket close code. `docs/errors.md` lists every row; `errors.test.ts` keeps them in sync.
 */
export interface ErrorSpec {
  /** HTTP status the error answers with when it ends an HTTP request. */
  readonly status?: number
  /** WebSocket close code (RFC 6455 §7.4) the error closes a connection with. */
  readonly closeCode?: number
  /** Default, client-safe message. */
  readonly message: string
}

/** Typed identity helper so each layer's table keeps its literal keys. */
export function defineErrors<const T extends Record<`SWB_ERR_${string}`, ErrorSpec>>(table: T): T {
  return table
}
