import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { ClientErrorCode } from '../client/errors.ts'
import { ERRORS, HttpError, SwitchboardError } from './index.ts'

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')

function documentedRows(): Map<string, { status: string; close: string }> {
  const rows = new Map<string, { status: string; close: string }>()
  for (const line of doc.split('\n')) {
    const m = /^\|\s*`(SWB_ERR_[A-Z0-9_]+)`\s*\|([^|]+)\|([^|]+)\|/.exec(line)
    if (!m) continue
    assert.ok(!rows.has(m[1]!), `docs/errors.md lists ${m[1]} twice`)
    rows.set(m[1]!, { status: m[2]!.trim(), close: m[3]!.trim() })
  }
  return rows
}

test('docs/errors.md lists exactly the codes of the error table and of the client SDK', () => {
  const documented = [...documentedRows().keys()].sort()
  const table = [...Object.keys(ERRORS), ...Object.values(ClientErrorCode)].sort()
  assert.deepEqual(documented, table)
})

test('docs/errors.md gives each code the status and close code of the table', () => {
  const rows = documentedRows()
  for (const code of Object.values(ClientErrorCode)) {
    assert.deepEqual(rows.get(code), { status: '—', close: '—' }, code)
  }
  for (const [code, spec] of Object.entries(ERRORS) as [
    string,
    { status?: number; closeCode?: number },
  ][]) {
    const row = rows.get(code)
    assert.ok(row, code)
    assert.equal(
      row.status,
      spec.status === undefined ? '—' : String(spec.status),
      `${code} status`,
    )
    assert.equal(
      row.close,
      spec.closeCode === undefined ? '—' : String(spec.closeCode),
      `${code} close code`,
    )
  }
})

test('a SwitchboardError takes its status and message from the table', () => {
  const err = new SwitchboardError('SWB_ERR_BODY_TOO_LARGE')
  assert.equal(err.status, 413)
  assert.equal(err.code, 'SWB_ERR_BODY_TOO_LARGE')
  assert.equal(err.message, ERRORS.SWB_ERR_BODY_TOO_LARGE.message)
})

test('an HttpError exposes its message below 500 and hides it from 500 unless asked', () => {
  assert.equal(new HttpError(403, 'nope').expose, true)
  assert.equal(new HttpError(502, 'upstream secret').expose, false)
  assert.equal(new HttpError(503, 'maintenance', { expose: true }).expose, true)
  assert.equal(new HttpError(418).code, 'SWB_ERR_HTTP')
  assert.throws(() => new HttpError(200), /400-599/)
})
