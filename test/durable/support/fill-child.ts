// A child process for the full-disk test: `fill DIR` publishes until the store refuses (the
// parent runs it with a file-size limit), printing each acknowledged offset and the refusal;
// `read DIR` prints the kept offsets and whether a publish works again.
import { DurableBroker } from '../../../src/broker/durable/index.ts'

const [mode, dir] = process.argv.slice(2) as [string, string]
const reported: string[] = []
const broker = new DurableBroker({ dir })
await broker.start({
  onPublication() {},
  onJoin() {},
  onLeave() {},
  onControl() {},
  onError: (e: unknown) => reported.push(String(e)),
})
const history = { size: 100_000, ttl: 3_600_000 }
const payload = 'x'.repeat(2_000)
if (mode === 'fill') {
  const acked: number[] = []
  let refusal: { code?: string; status?: number } | null = null
  for (let i = 0; i < 20_000 && refusal === null; i++) {
    try {
      acked.push((await broker.publish('fill:a', { i, payload }, { history })).offset)
    } catch (err) {
      refusal = err as { code?: string; status?: number }
    }
  }
  console.log(
    JSON.stringify({
      acked: acked.length,
      last: acked.at(-1),
      code: refusal?.code,
      status: refusal?.status,
    }),
  )
} else {
  const h = await broker.history('fill:a')
  const offsets = h.publications.map((p) => p.offset)
  const again = await broker.publish('fill:a', { i: 'again', payload: '' }, { history })
  console.log(
    JSON.stringify({
      count: offsets.length,
      first: offsets[0],
      last: offsets.at(-1),
      epoch: h.epoch,
      again,
      moved: broker.recoveredFrom,
    }),
  )
}
await broker.close().catch(() => {})
process.exit(0)
