// Typed channels: this file is checked by `tsc -p tsconfig.json` (the `@ts-expect-error` lines
// fail the typecheck if the types stop catching the mistake), and the test below runs tsc on it
// so the proof is part of the suite too.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import type { RpcContext } from '../hub/index.ts'
import type { NamespaceOptions } from '../hub/namespace.ts'
import type { SwitchboardClient } from './client.ts'

// --- what a server module exports -------------------------------------------------------------
const namespaces = {
  chat: { schema: z.object({ text: z.string(), at: z.number().default(0) }), clientPublish: true },
  cursor: { historySize: 0 },
} satisfies Record<string, NamespaceOptions>
const rpc = {
  add: (data: { a: number; b: number }, _ctx: RpcContext) => data.a + data.b,
  profile: async (data: { id: string }) => ({ id: data.id, name: 'Ada' }),
}
type App = { channels: typeof namespaces; rpc: typeof rpc }

// --- what a browser module writes --------------------------------------------------------------
function typedUsage(client: SwitchboardClient<App>): void {
  client.subscribe('chat:room-1', {
    onPublication(p) {
      const text: string = p.data.text
      const at: number = p.data.at // the schema's output type: the default makes it required
      // @ts-expect-error the schema has no `author`
      p.data.author
      void text
      void at
    },
  })
  // Publish takes the schema's input type: `at` may be left out (it has a default).
  void client.publish('chat:room-1', { text: 'hi' })
  // @ts-expect-error text must be a string
  void client.publish('chat:room-1', { text: 42 })
  // @ts-expect-error no namespace `nope`
  client.subscribe('nope:x')
  // @ts-expect-error a name without a namespace needs the default namespace '' to be declared
  client.subscribe('lobby')
  // A namespace without a schema: publications are `unknown`.
  client.subscribe('cursor:doc-1', {
    onPublication(p) {
      // @ts-expect-error unknown has no properties
      p.data.x
    },
  })
  const sum: Promise<number> = client.rpc('add', { a: 1, b: 2 })
  const profile: Promise<{ id: string; name: string }> = client.rpc('profile', { id: 'u1' })
  // @ts-expect-error b is missing
  void client.rpc('add', { a: 1 })
  // @ts-expect-error no such method
  void client.rpc('sub', { a: 1, b: 2 })
  // @ts-expect-error the result is a number
  const wrong: Promise<string> = client.rpc('add', { a: 1, b: 2 })
  void sum
  void profile
  void wrong
  // A subscription remembers its types.
  const sub = client.subscribe('chat:room-2')
  sub.on('publication', (p) => p.data.text.toUpperCase())
  // @ts-expect-error publish through the subscription is checked too
  void sub.publish({ text: null })
}

function untypedUsage(client: SwitchboardClient): void {
  client.subscribe('anything', { onPublication: (p) => p.data })
  void client.rpc('whatever', { any: 'thing' })
  void client.publish('x:y', 1)
}
void typedUsage
void untypedUsage

test('the typed-channel declarations typecheck, and every @ts-expect-error is needed', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url))
  const file = fileURLToPath(import.meta.url)
  const tsc = `${root}node_modules/.bin/tsc`
  const args = [
    '--noEmit',
    '--strict',
    '--target',
    'ES2022',
    '--module',
    'NodeNext',
    '--moduleResolution',
    'NodeNext',
    '--lib',
    'ES2023,DOM',
    '--types',
    'node',
    '--skipLibCheck',
    '--ignoreConfig',
    '--allowImportingTsExtensions',
    '--verbatimModuleSyntax',
    '--noUncheckedIndexedAccess',
    file,
  ]
  const r = spawnSync(tsc, args, { cwd: root, encoding: 'utf8', timeout: 60_000 })
  assert.equal(r.status, 0, `tsc failed:\n${r.stdout}${r.stderr}`)
})
