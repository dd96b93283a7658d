// A child for the delivery-mode test: publishes ten publications with `delivery: 'immediate'`,
// prints the epoch, then stops cleanly (`clean`) or kills itself with SIGKILL (`crash`).
import { DurableBroker } from '../../../src/broker/durable/index.ts'

const [mode, dir] = process.argv.slice(2) as [string, string]
const broker = new DurableBroker({ dir, delivery: 'immediate' })
await broker.start({ onPublication() {}, onJoin() {}, onLeave() {}, onControl() {} })
let epoch = ''
for (let i = 1; i <= 10; i++) {
  epoch = (await broker.publish('early:a', { i }, { history: { size: 100, ttl: 600_000 } })).epoch
}
console.log(JSON.stringify({ epoch }))
if (mode === 'crash') process.kill(process.pid, 'SIGKILL')
await broker.close()
process.exit(0)
