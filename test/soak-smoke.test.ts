// A few-second run of `npm run soak` (bench/soak/), so the soak cannot rot: a real server
// process, a real load-generator process with WebSocket and SSE subscribers, publish traffic,
// churn, then the JSON record and the SVG plot it writes.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { promisify } from 'node:util'

const dir = mkdtempSync(join(tmpdir(), 'soak-smoke-'))
after(() => rmSync(dir, { recursive: true, force: true }))

test('a short soak with churn delivers to WebSocket and SSE clients without loss and writes its record and plot', async () => {
  const out = join(dir, 'soak')
  const args = ['--import', 'tsx', 'bench/soak/run.ts', '--connections', '60', '--duration', '4']
  args.push('--rate', '40', '--channels', '4', '--churn', '4', '--warmup', '1', '--out', out)
  const { stdout } = await promisify(execFile)(process.execPath, args, { timeout: 60_000 })
  assert.match(stdout, /soak: 60 of 60 open/)
  const r = JSON.parse(readFileSync(`${out}.json`, 'utf8'))
  const f = r.figures
  assert.ok(f.published >= 100, `published ${f.published}`)
  assert.equal(f.publishErrors, 0)
  // 60 clients on 4 channels: each publication reaches about 15 of them.
  assert.ok(f.delivered >= f.published * 10, `delivered ${f.delivered} of ${f.published} × 15`)
  assert.ok(f.clients > 60, 'churn replaced some clients')
  assert.equal(f.failedOpens, 0)
  assert.equal(f.lostNeverBehind, 0)
  assert.equal(r.targets.zeroLossNeverBehind, true)
  // Both transports were in the mix: the smoke's share is the default 30% SSE.
  assert.equal(r.config.sseShare, 0.3)
  assert.ok(r.server.length >= 4, `${r.server.length} server samples`)
  for (const s of r.server) assert.ok(s.rss > 0 && s.heapUsed > 0 && s.eldP99 >= 0)
  assert.ok(Number.isFinite(f.rssDriftPct) && Number.isFinite(f.eldP99Ms))
  const svg = readFileSync(`${out}.svg`, 'utf8')
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/)
  assert.equal((svg.match(/<polyline /g) ?? []).length, 12, 'one line per series')
  assert.match(svg, /target p99 &lt; 50 ms/)
})
