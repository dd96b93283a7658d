// The Switchboard showcase: what `npm start` runs. One process by default, its channels on the
// durable embedded broker (history and epochs in SWITCHBOARD_DATA_DIR, default ./data), so a
// restart is invisible to open pages; with SWITCHBOARD_REDIS_URL set, every process started with
// the same URL joins one channel world instead (see "Run it clustered" in the README).
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import { type Broker, closeOnSignals } from 'switchboard'
import type { DurableBroker } from 'switchboard/durable'
import { createShowcase, type ShowcaseCluster } from './app.ts'

/** How long a node waits at start for its broker (Redis, or the data on disk) to answer. */
const BROKER_WAIT_MS = 10_000
const redisUrl = process.env.SWITCHBOARD_REDIS_URL || undefined
/** Where the durable broker keeps the channels, relative to the working directory (the
 * repository root under `npm start`). Unused with Redis. */
const dataDir = resolve(process.env.SWITCHBOARD_DATA_DIR || 'data')
const secret = process.env.SWITCHBOARD_SECRET || undefined
if (secret !== undefined && Buffer.byteLength(secret) < 16) {
  console.error('switchboard showcase: SWITCHBOARD_SECRET must be at least 16 bytes')
  process.exit(1)
}

// Each broker is loaded only when used: `npm start` never touches the Redis client, a
// clustered node never opens the durable store.
let broker: Broker
let durable: DurableBroker | undefined
if (redisUrl !== undefined) {
  const { RedisBroker } = await import('switchboard/redis')
  broker = new RedisBroker({
    url: redisUrl,
    onHealthChange: (h) =>
      console.warn(
        `switchboard showcase: Redis broker ${h.healthy ? 'healthy again' : `unhealthy: ${h.reason}`}`,
      ),
  })
} else {
  const { DurableBroker } = await import('switchboard/durable')
  broker = durable = new DurableBroker({ dir: dataDir })
}
const cluster: ShowcaseCluster = {
  broker,
  ...(secret === undefined ? null : { ticketSecret: secret }),
  // Sign-ins survive a restart: SWITCHBOARD_SECRET, else a secret kept beside the durable data.
  ...(secret !== undefined
    ? { sessionSecret: secret }
    : durable !== undefined
      ? { sessionSecret: keptSecret(dataDir) }
      : null),
  ...(process.env.SWITCHBOARD_NODE || redisUrl !== undefined
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
const where = redisUrl === undefined ? `the data in ${dataDir}` : `Redis at ${redacted(redisUrl)}`
console.log(
  redisUrl === undefined
    ? `switchboard showcase: channels on the durable broker, data in ${dataDir} (SWITCHBOARD_DATA_DIR to move it; this process only)`
    : `switchboard showcase: channels on the Redis broker at ${redacted(redisUrl)} as node ${cluster.node}` +
        (secret === undefined
          ? '; stream tickets are per node (set one SWITCHBOARD_SECRET on every node to share them)'
          : '; stream tickets signed with SWITCHBOARD_SECRET'),
)
// The broker starts with the hub: Redis retries until it answers, the durable broker reads its
// data. One that cannot within BROKER_WAIT_MS stops us here, loudly, instead of serving pages
// that hang.
let timer: NodeJS.Timeout | undefined
try {
  await Promise.race([
    app.hub.history('poll:transport', { limit: 0 }),
    new Promise((_, reject) => {
      timer = setTimeout(reject, BROKER_WAIT_MS, new Error(`no answer within ${BROKER_WAIT_MS} ms`))
    }),
  ])
} catch (err) {
  console.error(`switchboard showcase: cannot use ${where}: ${err}`)
  process.exit(1)
} finally {
  clearTimeout(timer)
}
if (durable?.recoveredFrom) {
  console.warn(
    `switchboard showcase: the data in ${dataDir} could not be read; it was moved to ${durable.recoveredFrom} and the channels start empty`,
  )
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

/** The session secret kept in `dir` (made on first use, readable by this user only). */
function keptSecret(dir: string): string {
  const file = join(dir, 'session-secret')
  try {
    return readFileSync(file, 'utf8').trim()
  } catch {
    mkdirSync(dir, { recursive: true })
    const made = randomBytes(32).toString('base64url')
    writeFileSync(file, made, { mode: 0o600, flag: 'wx' })
    return made
  }
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
