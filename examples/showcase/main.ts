// The Switchboard showcase: what `npm start` runs.
import { closeOnSignals } from 'switchboard'
import { createShowcase } from './app.ts'

const app = createShowcase({
  host: process.env.HOST ?? '127.0.0.1',
  port: process.env.PORT === undefined ? 3000 : Number(process.env.PORT),
})
const address = await app.listen()
console.log(
  `switchboard showcase listening on http://localhost:${address.port} (bound to ${address.url})`,
)
closeOnSignals(app, { graceful: 1500 })
