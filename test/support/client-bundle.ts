// The browser client bundled in memory for Chromium tests (the same entry and target as
// scripts/build-client.mjs, without writing dist/).
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** The minified ESM bundle of `src/client/index.ts`, as source text. */
export async function browserClientBundle(): Promise<string> {
  const r = await build({
    entryPoints: [join(root, 'src/client/index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    write: false,
  })
  return r.outputFiles[0]!.text
}
