import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CommandDeadlineError, Deadlines } from './deadlines.ts'

test('a reply that never comes is rejected once its deadline passes, and a prompt one is not', async () => {
  const d = new Deadlines(1_000)
  const never = d.watch(new Promise(() => {}))
  const prompt = d.watch(Promise.resolve('ok'))
  assert.equal(await prompt, 'ok')
  const seen: unknown[] = []
  never.catch((err: unknown) => seen.push(err))
  d.sweep(Date.now() + 500)
  await Promise.resolve()
  assert.equal(seen.length, 0, 'not before its deadline')
  d.sweep(Date.now() + 1_001)
  await new Promise((r) => setImmediate(r))
  assert.ok(seen[0] instanceof CommandDeadlineError)
  d.stop()
})

test('a command that fails keeps its own error', async () => {
  const d = new Deadlines(1_000)
  await assert.rejects(d.watch(Promise.reject(new Error('NOSCRIPT'))), /NOSCRIPT/)
  d.stop()
})
