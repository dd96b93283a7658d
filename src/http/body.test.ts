import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { describe, test } from 'node:test'
import { SwitchboardError } from '../errors/index.ts'
import { readBody } from './body.ts'

/** A stand-in for node:http's request: a Readable with headers and `complete`. */
function request(headers: Record<string, string> = {}): IncomingMessage & Readable {
  const req = new Readable({ read() {} }) as IncomingMessage & Readable
  Object.assign(req, { headers, complete: false })
  return req
}

function end(req: IncomingMessage & Readable): void {
  Object.assign(req, { complete: true })
  req.push(null)
}

const EVENTS = ['data', 'end', 'error', 'close'] as const

function listening(req: Readable): number {
  return EVENTS.reduce((n, e) => n + req.listenerCount(e), 0)
}

function code(err: unknown): string {
  assert.ok(err instanceof SwitchboardError)
  return err.code
}

describe('readBody', () => {
  test('reads a body sent in several chunks into one buffer and leaves no listener behind', async () => {
    const req = request()
    const before = listening(req)
    const body = readBody(req, 100)
    req.push(Buffer.from('hello, '))
    req.push(Buffer.from('world'))
    end(req)
    assert.equal((await body).toString(), 'hello, world')
    assert.equal(listening(req), before)
  })

  test('an empty body reads as an empty buffer', async () => {
    const req = request()
    const body = readBody(req, 100)
    end(req)
    assert.equal((await body).length, 0)
  })

  test('refuses a declared Content-Length over the limit before reading a byte', async () => {
    const req = request({ 'content-length': '11' })
    await assert.rejects(readBody(req, 10), (err) => code(err) === 'SWB_ERR_BODY_TOO_LARGE')
    assert.equal(listening(req), 0)
  })

  test('refuses an undeclared body once it passes the limit, and stops reading it', async () => {
    const req = request()
    const body = readBody(req, 10)
    req.push(Buffer.alloc(6))
    req.push(Buffer.alloc(6))
    await assert.rejects(body, (err) => code(err) === 'SWB_ERR_BODY_TOO_LARGE')
    assert.ok(req.isPaused())
    assert.equal(listening(req), 0)
  })

  test('a body of exactly the limit is accepted', async () => {
    const req = request()
    const body = readBody(req, 10)
    req.push(Buffer.alloc(4))
    req.push(Buffer.alloc(6))
    end(req)
    assert.equal((await body).length, 10)
  })

  test('a request closed before its body is complete rejects with SWB_ERR_BODY_ABORTED', async () => {
    const req = request()
    const body = readBody(req, 100)
    req.push(Buffer.from('part'))
    await new Promise((resolve) => setImmediate(resolve))
    req.destroy()
    await assert.rejects(body, (err) => code(err) === 'SWB_ERR_BODY_ABORTED')
  })

  test('a stream error rejects with SWB_ERR_BODY_ABORTED and the error as its cause', async () => {
    const req = request()
    const body = readBody(req, 100)
    const cause = new Error('reset')
    req.destroy(cause)
    await assert.rejects(body, (err) => {
      assert.equal(code(err), 'SWB_ERR_BODY_ABORTED')
      assert.equal((err as Error).cause, cause)
      return true
    })
  })

  test('every request is read by the same listener functions: no closure is made per request', async () => {
    const a = request()
    const b = request()
    const bodies = [readBody(a, 100), readBody(b, 100)]
    for (const e of EVENTS) {
      const [fa] = a.listeners(e)
      const [fb] = b.listeners(e)
      assert.equal(typeof fa, 'function', e)
      assert.equal(fa, fb, e)
    }
    a.push(Buffer.from('a'))
    b.push(Buffer.from('b'))
    end(a)
    end(b)
    const [ra, rb] = await Promise.all(bodies)
    assert.equal(ra!.toString(), 'a')
    assert.equal(rb!.toString(), 'b')
  })
})
