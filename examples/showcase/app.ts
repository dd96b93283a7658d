// The showcase app, built only on the public API; main.ts listens, tests import it directly.
import { randomBytes } from 'node:crypto'
import {
  type Broker,
  HttpError,
  Switchboard,
  SwitchboardError,
  type SwitchboardOptions,
} from 'switchboard'
import { mountAuth, Sessions } from './auth.ts'
import { demoAuth, mountChat } from './chat.ts'
import { DEFAULT_NODE, mountDashboard } from './dashboard.ts'
import { mountGame } from './game.ts'
import { DOC_FILES, devPage, landingPage } from './landing.ts'
import { mountPoll } from './poll.ts'
import { mountTicker } from './ticker.ts'
import { BOARD_HISTORY, mountWhiteboard } from './whiteboard.ts'

/** How the showcase joins a cluster; every field is optional and one process needs none. */
export interface ShowcaseCluster {
  /** The broker: `npm start` passes a `DurableBroker`, or the `RedisBroker` the nodes of a
   * cluster share. Default: the embedded memory broker (nothing survives the process). */
  readonly broker?: Broker
  /** This node's name, shown by `/health` and the dashboard. Default `'server'`. */
  readonly node?: string
  /** Stream-ticket secret every node shares (16+ bytes), so a ticket one node issued opens an
   * SSE stream on another. Default: random per process. */
  readonly ticketSecret?: string
  /** Secret of the login's session tokens (16+ bytes): the same across restarts, and on every
   * node, keeps people signed in. Default: random per process. */
  readonly sessionSecret?: string
}

/** Builds the showcase: landing page, health, and the demos on channels. */
export function createShowcase(
  options: SwitchboardOptions = {},
  cluster: ShowcaseCluster = {},
): Switchboard {
  const app = new Switchboard({ metrics: true, ...options }) // GET /metrics (docs/operations.md)
  const startedAt = Date.now()
  const errors = new ErrorLog(app)
  const node = cluster.node ?? DEFAULT_NODE
  const sessions = new Sessions(cluster.sessionSecret ?? randomBytes(32).toString('base64url'))
  app.channels.configure({
    // The login's session (its cookie on the opening request, or its token) signs a connection
    // in (the whiteboard); without one, the token is a demo name (chat, poll, dashboard).
    auth: async (request) => {
      const session = await sessions.identify(request)
      if (session !== null) return session
      if (request.token === undefined) {
        throw new SwitchboardError('SWB_ERR_AUTH_UNAUTHORIZED', 'Sign in first')
      }
      return demoAuth(request)
    },
    // A page opening a board reads all of its history at once.
    maxHistoryLimit: BOARD_HISTORY,
    ...(cluster.broker === undefined ? null : { broker: cluster.broker }),
    ...(cluster.ticketSecret === undefined ? null : { ticketSecret: cluster.ticketSecret }),
    onError: (err) => errors.report(err),
  })
  app.get('/', (ctx) => ctx.html(landingPage(app.routes)))
  app.get('/dev', (ctx) => ctx.html(devPage(app.routes)))
  // The docs, read-only as text: only the files the landing page lists.
  app.get('/docs/:name', (ctx) => {
    const file = DOC_FILES.get(ctx.params.name ?? '')
    if (file === undefined) throw new HttpError(404, 'No such document')
    return ctx.file(new URL(`../../${file}`, import.meta.url).pathname, {
      contentType: 'text/plain; charset=utf-8',
    })
  })
  app.get('/health', () => ({
    status: 'ok',
    node,
    broker: { name: app.hub.broker.name, healthy: app.hub.broker.health?.().healthy ?? true },
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    connections: app.hub.connectionCount,
  }))
  app.health() // GET /livez and GET /readyz, for load balancers and orchestrators
  app.get('/api/routes', () => app.routes)
  // The pages' shared script (demo-client.js) and whatever else public/ holds.
  app.static('/showcase', new URL('./public/', import.meta.url).pathname)
  mountAuth(app, sessions)
  mountChat(app)
  mountWhiteboard(app, sessions)
  mountPoll(app)
  mountDashboard(app, { node }) // its one sampling interval stops when the app closes
  mountTicker(app, { node }) // so do the market's and the game's
  mountGame(app, { node })
  return app
}

/** Logs the channels' unawaited errors (a broker's lost connection), each message at most once
 * every 30 s: a Redis outage retries many times a second and would fill the log. */
class ErrorLog {
  readonly #app: Switchboard
  #last = ''
  #at = 0

  constructor(app: Switchboard) {
    this.#app = app
  }

  report(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err)
    const now = Date.now()
    if (message === this.#last && now - this.#at < 30_000) return
    this.#last = message
    this.#at = now
    this.#app.log.warn({ err }, 'channels: an error nobody awaited')
  }
}
