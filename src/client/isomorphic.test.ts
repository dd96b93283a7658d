import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const dir = fileURLToPath(new URL('.', import.meta.url))

function sources(d: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(d, { withFileTypes: true })) {
    const full = join(d, entry.name)
    if (entry.isDirectory()) {
      if (entry.name !== 'test-utils') out.push(...sources(full))
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) out.push(full)
  }
  return out
}

const IMPORT = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

// `msgpack.ts` is the `switchboard/client/msgpack` entry point: the one client file that may
// reach MessagePack, because nothing else in src/client imports it (checked below), so the main
// client and its browser bundle never load msgpackr.
const MSGPACK_ENTRY = join(dir, 'msgpack.ts')

test('src/client has no node: imports and imports nothing of ours but protocol/', () => {
  const files = sources(dir)
  assert.ok(files.length >= 10, `only ${files.length} files found`)
  assert.ok(files.includes(MSGPACK_ENTRY), 'the msgpack entry point exists')
  for (const file of files) {
    const text = readFileSync(file, 'utf8')
    if (file === MSGPACK_ENTRY) {
      const code = text.replace(/^\s*(?:\/\/|\/\*\*|\*).*$/gm, '') // not the doc example
      const specs = [...code.matchAll(IMPORT)].map((m) => m[1] ?? m[2])
      assert.deepEqual(specs, ['../protocol/msgpack.ts'], 'the msgpack entry only re-exports')
      continue
    }
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2]!
      assert.ok(!spec.startsWith('node:'), `${file} imports ${spec}`)
      if (spec.startsWith('.')) {
        assert.ok(
          spec.startsWith('./') || spec.startsWith('../protocol/'),
          `${file} imports ${spec}`,
        )
        assert.ok(!spec.includes('msgpack'), `${file} pulls msgpackr into the bundle via ${spec}`)
      } else assert.fail(`${file} imports the package ${spec}`)
    }
    assert.ok(!/\brequire\(/.test(text), `${file} calls require`)
    assert.ok(!/\b(?:process|Buffer)\./.test(text), `${file} uses a Node global`)
  }
})
