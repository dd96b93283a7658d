// A child process for the corruption tests: `write DIR` fills a durable broker's data directory
// and prints the epochs; `read DIR` starts a durable broker on it and prints what it found, as one
// JSON line. Run in a child so a store that crashes on bad data fails the test, not the runner.
import { DurableBroker } from '../../../src/broker/durable/index.ts'

const [mode, dir] = process.argv.slice(2) as [string, string]
const reported: string[] = []
const handler = {
  onPublication() {},
  onJoin() {},
  onLeave() {},
  onControl() {},
  onError: (e: unknown) => reported.push(e instanceof Error ? e.message : String(e)),
}
const CHANNELS = 100
const broker = new DurableBroker({ dir })
await broker.start(handler)
const epochs: Record<string, string> = {}
let served = 0
let bad = 0
if (mode === 'write') {
  for (let c = 0; c < CHANNELS; c++) {
    for (let i = 1; i <= 60; i++) {
      const r = await broker.publish(
        `ch:${c}`,
        { c, i, text: 'a stroke of the whiteboard '.repeat(3) },
        { history: { size: 100, ttl: 600_000 } },
      )
      epochs[`ch:${c}`] = r.epoch
    }
  }
} else {
  for (let c = 0; c < CHANNELS; c++) {
    const h = await broker.history(`ch:${c}`)
    epochs[`ch:${c}`] = h.epoch
    for (const p of h.publications) {
      served++
      const d = p.data as { c?: unknown; i?: unknown }
      if (d?.c !== c || d.i !== p.offset) bad++
    }
  }
}
await broker.close()
console.log(JSON.stringify({ epochs, served, bad, reported, movedTo: broker.recoveredFrom }))
process.exit(0)
