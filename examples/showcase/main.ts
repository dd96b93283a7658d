// The Switchboard showcase: what `npm start` runs. One process by default; with
// SWITCHBOARD_REDIS_URL set, every process started with the same URL joins one channel world
// (see "Run it clustered" in the README).
import { hostname } from 'node:os'
import { type Broker, closeOnSignals } from 'switchboard'
import { createShowcase, type ShowcaseCluster } from './app.ts'

/** How long a clustered node waits at start for Redis to answer. */
const REDIS_WAIT_MS = 10_000
const redisUrl = process.env.SWITCHBOARD_REDIS_URL || undefined
const secret = process.env.SWITCHBOARD_SECRET || undefined
if (secret !== undefined && Buffer.byteLength(secret) < 16) {
  console.error('switchboard showcase: SWITCHBOARD_SECRET must be at least 16 bytes')
  process.exit(1)
}

let broker: Broker | undefined
if (redisUrl !== undefined) {
  // Loaded only when asked for, so a plain `npm start` never touches the Redis client.
  const { RedisBroker } = await import('switchboard/redis')
  broker = new RedisBroker({
    url: redisUrl,
    onHealthChange: (h) =>
      console.warn(
        `switchboard showcase: Redis broker ${h.healthy ? 'healthy again' : `unhealthy: ${h.reason}`}`,
      ),
  })
}
const cluster: ShowcaseCluster = {
  ...(broker === undefined ? null : { broker }),
  ...(secret === undefined ? null : { ticketSecret: secret }),
  ...(process.env.SWITCHBOARD_NODE || broker !== undefined
    ? { node: process.env.SWITCHBOARD_NODE || defaultNodeName() }
    : null),
}

const app = createShowcase(
  {
    host: process.env.HOST ?? '127.0.0.1',
    port: process.env.PORT === undefined ? 3000 : Number(process.env.PORT),
  },
  cluster,
)
console.log(
  broker === undefined
    ? 'switchboard showcase: channels on the embedded memory broker (this process only)'
    : `switchboard showcase: channels on the Redis broker at ${redacted(redisUrl!)} as node ${cluster.node}` +
        (secret === undefined
          ? '; stream tickets are per node (set one SWITCHBOARD_SECRET on every node to share them)'
          : '; stream tickets signed with SWITCHBOARD_SECRET'),
)
if (broker !== undefined) {
  // The broker connects when the hub starts, retrying until Redis answers: one that cannot be
  // reached within REDIS_WAIT_MS stops us here, loudly, instead of serving pages that hang.
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      app.hub.history('poll:transport', { limit: 0 }),
      new Promise((_, reject) => {
        timer = setTimeout(reject, REDIS_WAIT_MS, new Error(`no answer within ${REDIS_WAIT_MS} ms`))
      }),
    ])
  } catch (err) {
    console.error(`switchboard showcase: cannot use Redis at ${redacted(redisUrl!)}: ${err}`)
    process.exit(1)
  } finally {
    clearTimeout(timer)
  }
}
const address = await app.listen()
console.log(
  `switchboard showcase listening on http://localhost:${address.port} (bound to ${address.url})`,
)
closeOnSignals(app, { graceful: 1500 })

/** This host and port (or process, when the OS picks the port), fit for a channel name: the
 * dashboard publishes on `metrics:<node>`. */
function defaultNodeName(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9_.-]/g, '-')
      .slice(0, 40) || 'node'
  const port = Number(process.env.PORT)
  return `${host}-${Number.isInteger(port) && port > 0 ? port : `pid${process.pid}`}`
}

/** The URL without its password, for the log. */
function redacted(url: string): string {
  try {
    const u = new URL(url)
    if (u.password !== '') u.password = '***'
    return u.toString().replace(/\/$/, '')
  } catch {
    return '(an unparsable URL)'
  }
}
