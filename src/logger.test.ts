import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { pino } from 'pino'
import { Switchboard } from './index.ts'

function capture() {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line))
      done()
    },
  })
  return { lines, logger: pino({ level: 'info' }, stream) }
}

test('request logs are off by default', async () => {
  const { lines, logger } = capture()
  const app = new Switchboard({ logger })
  app.get('/x', () => 'x')
  await app.request('/x')
  assert.equal(lines.filter((l) => l.msg === 'request').length, 0)
})

test('logRequests writes one structured line per finished request', async () => {
  const { lines, logger } = capture()
  const app = new Switchboard({ logger, logRequests: true })
  app.get('/x', () => 'x')
  await app.request('/x?y=1')
  await app.request('/missing')
  const logged = lines.filter((l) => l.msg === 'request')
  assert.equal(logged.length, 2)
  assert.equal(logged[0]!.method, 'GET')
  assert.equal(logged[0]!.url, '/x?y=1')
  assert.equal(logged[0]!.status, 200)
  assert.equal(logged[1]!.status, 404)
  assert.equal(typeof logged[0]!.ms, 'number')
  assert.ok(logged[0]!.reqId)
})

test('an unhandled error is logged at error level with its request id', async () => {
  const { lines, logger } = capture()
  const app = new Switchboard({ logger })
  app.get('/boom', () => {
    throw new Error('kaboom')
  })
  const res = await app.request('/boom')
  const entry = lines.find((l) => l.msg === 'request failed')
  assert.ok(entry)
  assert.equal(entry.level, 50)
  assert.equal(entry.reqId, res.headers.get('x-request-id'))
  assert.match(JSON.stringify(entry.err), /kaboom/)
})

test('LOG_LEVEL sets the default logger level', async () => {
  const before = process.env.LOG_LEVEL
  process.env.LOG_LEVEL = 'warn'
  try {
    assert.equal(new Switchboard().log.level, 'warn')
    assert.equal(new Switchboard({ logger: false }).log.level, 'silent')
  } finally {
    if (before === undefined) delete process.env.LOG_LEVEL
    else process.env.LOG_LEVEL = before
  }
})
