#!/usr/bin/env node
// Builds the browser bundle of the client SDK: dist/client/switchboard-client.js (ESM, minified)
// from src/client/index.ts, and prints its size minified and minified + gzip.
// Usage: node scripts/build-client.mjs [--check <max-gzip-bytes>]
import { mkdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('..', import.meta.url))
const outfile = join(root, 'dist/client/switchboard-client.js')
mkdirSync(dirname(outfile), { recursive: true })

const result = await build({
  entryPoints: [join(root, 'src/client/index.ts')],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
})

const inputs = Object.keys(result.metafile.inputs)
const foreign = inputs.filter((f) => !f.startsWith('src/client/') && !f.startsWith('src/protocol/'))
if (foreign.length > 0) {
  console.error(
    `the client bundle pulls in files outside src/client and src/protocol: ${foreign.join(', ')}`,
  )
  process.exit(1)
}

const code = readFileSync(outfile)
const gzip = gzipSync(code, { level: 9 }).length
const kb = (n) => `${(n / 1024).toFixed(2)} KB`
console.log(
  `dist/client/switchboard-client.js: ${kb(code.length)} min, ${kb(gzip)} min+gzip (${gzip} bytes)`,
)

const check = process.argv.indexOf('--check')
if (check >= 0) {
  const max = Number(process.argv[check + 1])
  if (!(gzip <= max)) {
    console.error(`min+gzip size ${gzip} bytes is over the limit of ${max}`)
    process.exit(1)
  }
}
