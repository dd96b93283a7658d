// HTTP-side attacks: request ids a client picks, header injection through an error, static path
// traversal, and stack traces in error bodies (issue #19 item 5 and the review's list).
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { HttpError, Switchboard } from '../../src/index.ts'
import { rawRequest, statusOf } from '../../src/test-utils/raw-http.ts'

const CRLF_HEADERS = { 'x-note': 'ok\r\nset-cookie: sid=attacker' }

describe('an app on the defaults', () => {
  const app = new Switchboard({ logger: false })
  const dir = mkdtempSync(join(tmpdir(), 'swb-security-'))
  let port = 0
  before(async () => {
    mkdirSync(join(dir, 'public'))
    writeFileSync(join(dir, 'public', 'index.txt'), 'public')
    writeFileSync(join(dir, 'secret.txt'), 'SECRET')
    app.static('/files', join(dir, 'public'))
    app.get('/id', (ctx) => ctx.text(ctx.requestId))
    app.get('/crlf', () => {
      throw new HttpError(400, 'bad', { headers: CRLF_HEADERS })
    })
    app.get('/boom', () => {
      throw new Error('database password is hunter2')
    })
    app.ws('/ws', {
      upgrade() {
        throw new HttpError(401, 'no', { headers: CRLF_HEADERS })
      },
    })
    port = (await app.listen({ port: 0 })).port
  })
  after(async () => {
    await app.close({ graceful: 100 })
    rmSync(dir, { recursive: true, force: true })
  })

  test('an incoming X-Request-Id is replaced unless trustRequestId is on', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/id`, {
      headers: { 'x-request-id': 'chosen-by-the-client' },
    })
    const id = await res.text()
    assert.notEqual(id, 'chosen-by-the-client')
    const trusting = new Switchboard({ logger: false, trustRequestId: true })
    trusting.get('/id', (ctx) => ctx.text(ctx.requestId))
    const echoed = await trusting.request('/id', { headers: { 'x-request-id': 'from-the-proxy' } })
    assert.equal(await echoed.text(), 'from-the-proxy')
  })

  test('an HttpError header with CR/LF answers a proper 500, with no injected header', async () => {
    const raw = await rawRequest(port, 'GET /crlf HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    assert.match(raw, /^HTTP\/1\.1 500 Internal Server Error\r\n/)
    assert.doesNotMatch(raw, /set-cookie/i)
    assert.match(raw, /SWB_ERR_INTERNAL/)
    const upgrade = await rawRequest(
      port,
      'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    )
    assert.equal(statusOf(upgrade), 500)
    assert.doesNotMatch(upgrade, /set-cookie/i)
  })

  test('static files cannot be read outside their root', async () => {
    const ok = await rawRequest(
      port,
      'GET /files/index.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    )
    assert.equal(statusOf(ok), 200)
    for (const path of [
      '/files/../secret.txt',
      '/files/%2e%2e/secret.txt',
      '/files/%2e%2e%2fsecret.txt',
      '/files/..%5csecret.txt',
      '/files/%252e%252e/secret.txt',
      '/files/index.txt%00.png',
    ]) {
      const raw = await rawRequest(
        port,
        `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      )
      assert.ok(statusOf(raw) >= 400, `${path} answered ${statusOf(raw)}`)
      assert.doesNotMatch(raw, /SECRET/, path)
    }
  })

  test('an error body carries a code and a request id, never a stack or the message of a 5xx', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/boom`)
    const text = await res.text()
    assert.equal(res.status, 500)
    const body = JSON.parse(text) as { error: Record<string, unknown> }
    assert.equal(body.error.code, 'SWB_ERR_INTERNAL')
    assert.equal(body.error.stack, undefined)
    assert.doesNotMatch(text, /hunter2|at .*\.ts:\d+/)
  })
})
