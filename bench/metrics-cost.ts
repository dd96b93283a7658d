// What recording metrics costs the fan-out path, measured in one process as CPU time, so that
// other work on the machine changes little (the end-to-end figure is `npm run bench:metrics`).
//   node --import tsx bench/metrics-cost.ts [--subscribers 5000] [--publications 200] [--rounds 41]
// Two apps, one with Prometheus metrics on and one without, each with the same subscribers on an
// in-process transport that takes frames as a socket would (shared batches, no decoding). Rounds
// alternate between them; each round publishes, flushes, and counts this process's CPU time.
// Prints the median CPU time per publication of each (the fan-out to every subscriber included)
// and their difference; then what one scrape costs (Prometheus scrapes every 15 s or so).
import { parseArgs } from 'node:util'
import { MemoryTransport } from '../src/hub/test-utils/memory-transport.ts'
import { TestClient, turn } from '../src/hub/test-utils/test-client.ts'
import type { Frame } from '../src/hub/transport.ts'
import { Switchboard } from '../src/index.ts'

const { values } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '5000' },
    publications: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '41' },
  },
})
const SUBSCRIBERS = Number(values.subscribers)
const PUBLICATIONS = Number(values.publications)
const ROUNDS = Number(values.rounds)

/** Replies are decoded while setting up; after that frames are only counted, as a socket would. */
class SinkTransport extends MemoryTransport {
  readonly sharedBatches = true
  quiet = false
  frameCount = 0
  override write(frames: readonly Frame[]): boolean {
    if (this.quiet) {
      this.frameCount += frames.length
      return true
    }
    return super.write(frames)
  }
}

async function setup(metrics: boolean) {
  const app = new Switchboard({ logger: false, metrics })
  app.channels.namespace('bench', { historySize: 100 })
  const transports: SinkTransport[] = []
  for (let i = 0; i < SUBSCRIBERS; i++) {
    const t = new SinkTransport()
    const c = await TestClient.connect(app.hub, undefined, undefined, t)
    await c.request({ type: 'subscribe', channel: 'bench:all' })
    t.quiet = true
    transports.push(t)
  }
  return { app, transports, name: metrics ? 'metrics on' : 'metrics off', cpu: [] as number[] }
}

async function round(s: Awaited<ReturnType<typeof setup>>): Promise<void> {
  const before = s.transports[0]!.frameCount
  const start = process.cpuUsage()
  for (let i = 0; i < PUBLICATIONS; i++)
    void s.app.hub.publish('bench:all', { i, pad: 'x'.repeat(40) })
  await turn(4)
  const used = process.cpuUsage(start)
  const got = s.transports[0]!.frameCount - before
  if (got !== PUBLICATIONS) throw new Error(`${s.name}: a subscriber got ${got} of ${PUBLICATIONS}`)
  s.cpu.push((used.user + used.system) / PUBLICATIONS)
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

const on = await setup(true)
const off = await setup(false)
for (let r = 0; r < ROUNDS + 2; r++) {
  // Alternate the order; the first two rounds warm up and are not counted.
  const order = r % 2 === 0 ? [on, off] : [off, on]
  for (const s of order) await round(s)
  if (r < 2) {
    on.cpu.length = 0
    off.cpu.length = 0
  }
}
const mOn = median(on.cpu)
const mOff = median(off.cpu)
const scrapes: number[] = []
for (let i = 0; i < 50; i++) {
  const start = process.cpuUsage()
  await on.app.metrics().text()
  const used = process.cpuUsage(start)
  scrapes.push((used.user + used.system) / 1000)
}
const scrape = median(scrapes)
console.log(
  `${SUBSCRIBERS} subscribers, ${PUBLICATIONS} publications a round, ${ROUNDS} rounds each (median):`,
)
console.log(`  metrics off: ${mOff.toFixed(2)} CPU-µs per publication (fan-out included)`)
console.log(`  metrics on:  ${mOn.toFixed(2)} CPU-µs per publication`)
console.log(
  `  difference: ${(mOn - mOff).toFixed(2)} µs per publication; on / off ${(mOn / mOff).toFixed(3)}`,
)
console.log(
  `  one scrape: ${scrape.toFixed(2)} CPU-ms (every 15 s: ${((scrape / 15_000) * 100).toFixed(3)} % of a core)`,
)
await on.app.close()
await off.app.close()
