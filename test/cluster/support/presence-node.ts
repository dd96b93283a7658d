// One Switchboard node for the presence-death test, run as a child process so the test can kill
// it with SIGKILL: RedisBroker on REDIS_URL (key prefix PREFIX, presence TTL PRESENCE_TTL ms), a
// `room` namespace with presence and join/leave, tokens that are the user id, and
// GET /presence?channel=… answering this node's `hub.presence(channel)`. Prints
// `listening on <url>` once it listens on 127.0.0.1; exits when its stdin closes (the test
// process is gone) or on SIGTERM.
import { RedisBroker } from '../../../src/broker/redis/index.ts'
import { Switchboard, SwitchboardError } from '../../../src/index.ts'

const redisUrl = process.env.REDIS_URL
if (redisUrl === undefined) throw new Error('REDIS_URL is required')

const app = new Switchboard({ logger: false })
app.channels.configure({
  broker: new RedisBroker({
    url: redisUrl,
    prefix: process.env.PREFIX ?? 'swb',
    presenceTtl: Number(process.env.PRESENCE_TTL ?? 10_000),
  }),
  auth: ({ token }) => {
    if (token === undefined || token === '') throw new SwitchboardError('SWB_ERR_AUTH_UNAUTHORIZED')
    return { user: token }
  },
})
app.channels.namespace('room', { presence: true, joinLeave: true })
app.get('/presence', async (ctx) => ctx.json(await app.hub.presence(ctx.query.channel ?? '')))

const { port } = await app.listen({ port: 0, host: '127.0.0.1' })

async function stop(): Promise<void> {
  await app.close({ graceful: 0 })
  process.exit(0)
}
process.once('SIGTERM', stop)
process.stdin.once('end', stop)
process.stdin.resume()
console.log(`listening on http://127.0.0.1:${port}`)
