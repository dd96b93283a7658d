// The Switchboard showcase: what `npm start` runs. Built only on the public API.
import { closeOnSignals, Switchboard } from 'switchboard'
import { landingPage } from './landing.ts'

const app = new Switchboard({
  host: process.env.HOST ?? '127.0.0.1',
  port: process.env.PORT === undefined ? 3000 : Number(process.env.PORT),
})

const startedAt = Date.now()

app.get('/', (ctx) => ctx.html(landingPage(app.routes)))
app.get('/health', () => ({
  status: 'ok',
  uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
}))
app.get('/api/routes', () => app.routes)

const address = await app.listen()
console.log(
  `switchboard showcase listening on http://localhost:${address.port} (bound to ${address.url})`,
)
closeOnSignals(app, { graceful: 1500 })
