import type { Switchboard } from './app.ts'

/** What `closeOnSignals` needs of an app (any `Switchboard`, whatever its state type). */
type Closable = Pick<Switchboard, 'close' | 'log'>

/** Options of `closeOnSignals`. */
export interface SignalOptions {
  /** Signals that start a graceful shutdown. Default `['SIGINT', 'SIGTERM']`. */
  readonly signals?: readonly NodeJS.Signals[]
  /** Time in-flight requests get before their sockets are cut, ms. Default 1,500. */
  readonly graceful?: number
  /** Exit the process once closed (code 0; 1 if closing failed). Default true. */
  readonly exit?: boolean
  /**
   * The drain on SIGTERM (a deploy's stop): `true` for the default 10 s window, a window in ms,
   * or `false` to close at once. Default `true`. Other signals (SIGINT is Ctrl-C in a terminal)
   * close at once.
   */
  readonly drain?: boolean | number
}

/**
 * Closes the app gracefully on SIGINT/SIGTERM and then exits, so a process manager's stop is
 * clean. SIGTERM drains first (readiness off, sessions disconnected in paced batches with a
 * reconnect hint over the drain window); then new connections are refused, in-flight requests
 * finish within `graceful` ms, and live connections are closed. A second signal exits at once.
 * Returns a function that removes the handlers.
 *
 * @example
 * await app.listen({ port: 3000 })
 * closeOnSignals(app)
 */
export function closeOnSignals(app: Closable, options: SignalOptions = {}): () => void {
  const signals = options.signals ?? ['SIGINT', 'SIGTERM']
  const graceful = options.graceful ?? 1_500
  const exit = options.exit ?? true
  const drain = options.drain ?? true
  let closing = false
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) {
      if (exit) process.exit(1)
      return
    }
    closing = true
    app.log.info({ signal }, 'shutting down')
    app.close({ graceful, drain: signal === 'SIGTERM' ? drain : false }).then(
      () => {
        if (exit) process.exit(0)
      },
      (err: unknown) => {
        app.log.error({ err }, 'shutdown failed')
        if (exit) process.exit(1)
      },
    )
  }
  for (const s of signals) process.on(s, onSignal)
  return () => {
    for (const s of signals) process.off(s, onSignal)
  }
}
