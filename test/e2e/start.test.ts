import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** Spawns a node process and resolves with it and the URL it prints, within `timeoutMs`. */
async function start(
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
  command = process.execPath,
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`no listening line within ${timeoutMs} ms:\n${out}`))
    }, timeoutMs)
    const onData = (chunk: Buffer) => {
      out += chunk.toString()
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!.replace(/\)$/, ''))
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (c: Buffer) => {
      out += c.toString()
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`exited with ${code} before listening:\n${out}`))
    })
  })
  return { child, url, output: () => out }
}

async function exitWithin(
  child: ChildProcess,
  ms: number,
): Promise<{ code: number | null; took: number }> {
  const t0 = performance.now()
  const timer = setTimeout(() => child.kill('SIGKILL'), ms + 2000)
  const [code] = (await once(child, 'exit')) as [number | null]
  clearTimeout(timer)
  return { code, took: performance.now() - t0 }
}

describe('npm start', () => {
  test('builds, answers GET / within 10 s, keeps its channels in SWITCHBOARD_DATA_DIR, and exits 0 within 2 s of SIGTERM', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'swb-start-'))
    const dataDir = join(tmp, 'data')
    try {
      const t0 = performance.now()
      const { child, url, output } = await start(
        ['scripts/start.mjs'],
        { PORT: '0', LOG_LEVEL: 'warn', SWITCHBOARD_DATA_DIR: dataDir },
        10_000,
      )
      try {
        const res = await fetch(url.replace('localhost', '127.0.0.1'))
        assert.equal(res.status, 200)
        assert.match(await res.text(), /Switchboard/)
        assert.ok(performance.now() - t0 < 10_000)
        assert.ok(
          output().includes(`channels on the durable broker, data in ${dataDir} `),
          output(),
        )
        assert.ok(
          existsSync(join(dataDir, 'CURRENT')),
          'the durable broker opened its data (LevelDB)',
        )
      } finally {
        child.kill('SIGTERM')
      }
      const { code, took } = await exitWithin(child, 2000)
      assert.equal(code, 0)
      assert.ok(took < 2000, `took ${took} ms to exit`)
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
  })
})

describe('signals sent to the `npm start` process', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} stops the showcase: npm exits 0 and the port is closed`, async () => {
      const tmp = mkdtempSync(join(tmpdir(), 'swb-npm-start-'))
      try {
        // npm itself, as a developer or a process manager runs it, with this test's node first on
        // the PATH so the script runs on the same Node.
        const { child, url } = await start(
          ['start'],
          {
            PORT: '0',
            LOG_LEVEL: 'warn',
            SWITCHBOARD_DATA_DIR: join(tmp, 'data'),
            PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
          },
          20_000,
          'npm',
        )
        const base = url.replace('localhost', '127.0.0.1')
        assert.equal((await fetch(`${base}/livez`)).status, 200)
        assert.equal((await fetch(`${base}/readyz`)).status, 200)
        child.kill(signal)
        const { code } = await exitWithin(child, 5000)
        assert.equal(code, 0, `npm exited with ${code} after ${signal}`)
        await assert.rejects(fetch(base), 'the server still answers after npm exited')
      } finally {
        rmSync(tmp, { recursive: true, force: true })
      }
    })
  }
})

describe('shutdown on SIGTERM', () => {
  test('a slow in-flight request still completes and the process exits 0 within 2 s', async () => {
    const { child, url } = await start(
      ['--import', 'tsx', 'test/fixtures/slow-server.ts'],
      {},
      10_000,
    )
    const pending = fetch(`${url}/slow?ms=600`).then(async (r) => ({
      status: r.status,
      body: await r.json(),
    }))
    await new Promise((r) => setTimeout(r, 150))
    child.kill('SIGTERM')
    const exited = exitWithin(child, 2000)
    assert.deepEqual(await pending, { status: 200, body: { done: true } })
    const { code, took } = await exited
    assert.equal(code, 0)
    assert.ok(took < 2000, `took ${took} ms to exit`)
  })
})
