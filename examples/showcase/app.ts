// The showcase app, built only on the public API; main.ts listens, tests import it directly.
import { Switchboard, type SwitchboardOptions } from 'switchboard'
import { demoAuth, mountChat } from './chat.ts'
import { mountDashboard } from './dashboard.ts'
import { landingPage } from './landing.ts'
import { mountPoll } from './poll.ts'
import { mountWhiteboard } from './whiteboard.ts'

/** Builds the showcase: landing page, health, and the demos on channels. */
export function createShowcase(options: SwitchboardOptions = {}): Switchboard {
  const app = new Switchboard(options)
  const startedAt = Date.now()
  app.channels.configure({ auth: demoAuth })
  app.get('/', (ctx) => ctx.html(landingPage(app.routes)))
  app.get('/health', () => ({
    status: 'ok',
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    connections: app.hub.connectionCount,
  }))
  app.get('/api/routes', () => app.routes)
  // The pages' shared script (demo-client.js) and whatever else public/ holds.
  app.static('/showcase', new URL('./public/', import.meta.url).pathname)
  mountChat(app)
  mountWhiteboard(app)
  mountPoll(app)
  mountDashboard(app) // its one sampling interval stops when the app closes
  return app
}
