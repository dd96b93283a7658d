// One Switchboard node on a DurableBroker, run as a child process so the restart test can stop it
// with SIGTERM or SIGKILL and start it again on the same data:
//   node --import tsx test/durable/support/durable-node.ts <dir> <port>   (port 0: a free one)
// It listens on 127.0.0.1 with a `feed` namespace whose history outlasts the test (10 000 kept,
// 10 min), closes cleanly on SIGTERM (`closeOnSignals`), and prints `ready <port>`. It exits when
// its stdin closes, so a test process that dies takes it along.
//
// The test publishes through it and reads the stream's state over HTTP:
//   POST /publish { channel, seq }   `app.hub.publish(channel, { seq })`, answered once committed
//                                    with { offset, epoch }: an acknowledged publication;
//   GET /top?channel=…               { offset, epoch } of the stream's last publication;
//   GET /history?channel=…           { epoch, first, seqs, errors }: the `seq` of every kept
//                                    publication in offset order (`seqs[i]` is at offset
//                                    first + i), and the errors the hub reported.
import { DurableBroker } from '../../../src/broker/durable/index.ts'
import { closeOnSignals, Switchboard } from '../../../src/index.ts'

const [dir, port] = process.argv.slice(2)
if (dir === undefined || port === undefined) throw new Error('usage: durable-node.ts <dir> <port>')

const app = new Switchboard({ logger: false })
const broker = new DurableBroker({ dir })
const errors: string[] = []
app.channels.configure({ broker, onError: (err) => errors.push(String(err)) })
app.channels.namespace('feed', { historySize: 10_000, historyTtl: 600_000 })

app.post('/publish', async (ctx) => {
  const { channel, seq } = (await ctx.readJson()) as { channel: string; seq: number }
  const { offset, epoch } = await app.hub.publish(channel, { seq })
  return ctx.json({ offset, epoch })
})
app.get('/top', async (ctx) => {
  const { offset, epoch } = await app.hub.history(String(ctx.query.channel), { limit: 0 })
  return ctx.json({ offset, epoch })
})
app.get('/history', async (ctx) => {
  const { epoch, publications } = await app.hub.history(String(ctx.query.channel))
  return ctx.json({
    epoch,
    first: publications[0]?.offset ?? null,
    seqs: publications.map((p) => (p.data as { seq: number }).seq),
    errors,
  })
})

const address = await app.listen({ port: Number(port), host: '127.0.0.1' })
closeOnSignals(app)
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
console.log(`ready ${address.port}`)
