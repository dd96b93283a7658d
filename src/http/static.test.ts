import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { Switchboard } from '../index.ts'
import { rawRequest, statusOf } from '../test-utils/raw-http.ts'
import { parseRange } from './static.ts'

const SECRET = 'TOP-SECRET-OUTSIDE-ROOT'
let base: string
let root: string
let app: Switchboard
let port: number

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'swb-static-'))
  root = join(base, 'public')
  mkdirSync(join(root, 'docs'), { recursive: true })
  writeFileSync(join(base, 'secret.txt'), SECRET)
  writeFileSync(join(root, 'hello.txt'), 'hello world')
  writeFileSync(join(root, 'app.js'), 'console.log(1)')
  writeFileSync(join(root, 'style.css'), 'body{}')
  writeFileSync(join(root, 'data.json'), '{}')
  writeFileSync(join(root, 'pic.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]))
  writeFileSync(join(root, 'digits.txt'), '0123456789')
  writeFileSync(join(root, '.env'), 'DOTFILE')
  writeFileSync(join(root, 'docs', 'index.html'), '<h1>docs</h1>')
  writeFileSync(join(root, 'empty.txt'), '')
  symlinkSync(join(base, 'secret.txt'), join(root, 'link-out.txt'))
  utimesSync(
    join(root, 'hello.txt'),
    new Date('2026-01-01T00:00:00Z'),
    new Date('2026-01-01T00:00:00Z'),
  )
  app = new Switchboard({ logger: false })
  app.static('/static', root, { maxAge: 60 })
  app.get('/download', (ctx) => ctx.file(join(root, 'hello.txt')))
  port = (await app.listen({ port: 0 })).port
})

after(async () => {
  await app.close({ graceful: 100 })
  rmSync(base, { recursive: true, force: true })
})

describe('static files', () => {
  test('serves files with their MIME types and caching headers', async () => {
    const cases: [string, RegExp][] = [
      ['hello.txt', /^text\/plain; charset=utf-8$/],
      ['app.js', /^(application|text)\/javascript; charset=utf-8$/],
      ['style.css', /^text\/css; charset=utf-8$/],
      ['data.json', /^application\/json; charset=utf-8$/],
      ['pic.png', /^image\/png$/],
    ]
    for (const [name, type] of cases) {
      const res = await app.request(`/static/${name}`)
      assert.equal(res.status, 200, name)
      assert.match(res.headers.get('content-type') ?? '', type, name)
      assert.equal(res.headers.get('cache-control'), 'public, max-age=60')
      assert.equal(res.headers.get('accept-ranges'), 'bytes')
    }
    assert.equal(await (await app.request('/static/hello.txt')).text(), 'hello world')
  })

  test('answers 304 to a matching If-None-Match and to a fresh If-Modified-Since', async () => {
    const first = await app.request('/static/hello.txt')
    const etag = first.headers.get('etag')!
    assert.match(etag, /^W\/"/)
    assert.equal(first.headers.get('last-modified'), 'Thu, 01 Jan 2026 00:00:00 GMT')
    const cached = await app.request('/static/hello.txt', { headers: { 'if-none-match': etag } })
    assert.equal(cached.status, 304)
    assert.equal((await cached.arrayBuffer()).byteLength, 0)
    const listed = await app.request('/static/hello.txt', {
      headers: { 'if-none-match': `"nope", ${etag}` },
    })
    assert.equal(listed.status, 304)
    const stale = await app.request('/static/hello.txt', {
      headers: { 'if-none-match': '"other"' },
    })
    assert.equal(stale.status, 200)
    const since = await app.request('/static/hello.txt', {
      headers: { 'if-modified-since': 'Fri, 02 Jan 2026 00:00:00 GMT' },
    })
    assert.equal(since.status, 304)
    const older = await app.request('/static/hello.txt', {
      headers: { 'if-modified-since': 'Wed, 31 Dec 2025 00:00:00 GMT' },
    })
    assert.equal(older.status, 200)
  })

  test('serves a byte range with 206 and Content-Range', async () => {
    const res = await app.request('/static/digits.txt', { headers: { range: 'bytes=2-5' } })
    assert.equal(res.status, 206)
    assert.equal(res.headers.get('content-range'), 'bytes 2-5/10')
    assert.equal(res.headers.get('content-length'), '4')
    assert.equal(await res.text(), '2345')
    const suffix = await app.request('/static/digits.txt', { headers: { range: 'bytes=-3' } })
    assert.equal(await suffix.text(), '789')
    const open = await app.request('/static/digits.txt', { headers: { range: 'bytes=7-' } })
    assert.equal(await open.text(), '789')
  })

  test('answers 416 with Content-Range */size for a range outside the file', async () => {
    const res = await app.request('/static/digits.txt', { headers: { range: 'bytes=10-20' } })
    assert.equal(res.status, 416)
    assert.equal(res.headers.get('content-range'), 'bytes */10')
    assert.equal(
      ((await res.json()) as { error: { code: string } }).error.code,
      'SWB_ERR_RANGE_NOT_SATISFIABLE',
    )
  })

  test('ignores a Range whose If-Range no longer matches, and serves the whole file', async () => {
    const res = await app.request('/static/digits.txt', {
      headers: { range: 'bytes=0-1', 'if-range': 'W/"stale"' },
    })
    assert.equal(res.status, 200)
    assert.equal(await res.text(), '0123456789')
  })

  test('serves index.html for a directory and redirects a directory without its slash', async () => {
    assert.equal(await (await app.request('/static/docs/')).text(), '<h1>docs</h1>')
    const redirect = await app.request('/static/docs')
    assert.equal(redirect.status, 301)
    assert.equal(redirect.headers.get('location'), '/static/docs/')
  })

  test('HEAD gives the headers of the file and no body', async () => {
    const res = await app.request('/static/hello.txt', { method: 'HEAD' })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-length'), '11')
  })

  test('serves an empty file', async () => {
    const res = await app.request('/static/empty.txt')
    assert.equal(res.status, 200)
    assert.equal(await res.text(), '')
  })

  test('ctx.file() answers with a file and its validators', async () => {
    const res = await app.request('/download')
    assert.equal(await res.text(), 'hello world')
    assert.ok(res.headers.get('etag'))
  })

  test('hides dot-files and answers 404 for missing files', async () => {
    assert.equal((await app.request('/static/.env')).status, 404)
    assert.equal((await app.request('/static/nope.txt')).status, 404)
  })

  test('never follows a symlink out of the root', async () => {
    const res = await app.request('/static/link-out.txt')
    assert.equal(res.status, 404)
    assert.doesNotMatch(await res.text(), new RegExp(SECRET))
  })

  test('never serves a file outside the root for any traversal attempt on the wire', async () => {
    const attempts = [
      '/static/../secret.txt',
      '/static/..%2fsecret.txt',
      '/static/..%2Fsecret.txt',
      '/static/%2e%2e/secret.txt',
      '/static/%2E%2E%2Fsecret.txt',
      '/static/%2e%2e%2fsecret.txt',
      '/static/..\\secret.txt',
      '/static/..%5csecret.txt',
      '/static/%5c..%5csecret.txt',
      '/static/docs/../../secret.txt',
      '/static/docs/%2e%2e/%2e%2e/secret.txt',
      '/static/%252e%252e/secret.txt',
      '/static/hello.txt%00.png',
      '/static/%00',
      '/static/..%00/secret.txt',
      '/static/%c0%ae%c0%ae/secret.txt',
      '/static//etc/passwd',
      `/static/${'..%2f'.repeat(10)}etc/passwd`,
    ]
    for (const path of attempts) {
      const out = await rawRequest(
        port,
        `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      )
      const status = statusOf(out)
      assert.ok(status === 400 || status === 404, `${path} answered ${status}`)
      assert.doesNotMatch(out, new RegExp(SECRET), path)
      assert.doesNotMatch(out, /root:x:0:0/, path)
    }
  })
})

describe('parseRange', () => {
  test('parses the single-range forms and refuses what it cannot satisfy', () => {
    assert.deepEqual(parseRange('bytes=0-0', 10), { start: 0, end: 0 })
    assert.deepEqual(parseRange('bytes=5-100', 10), { start: 5, end: 9 })
    assert.deepEqual(parseRange('bytes=-100', 10), { start: 0, end: 9 })
    assert.equal(parseRange('bytes=10-', 10), 'unsatisfiable')
    assert.equal(parseRange('bytes=-0', 10), 'unsatisfiable')
    assert.equal(parseRange('bytes=0-1,3-4', 10), null)
    assert.equal(parseRange('items=0-1', 10), null)
    assert.equal(parseRange('bytes=5-2', 10), null)
  })
})
