/**
 * Prints the markdown table of docs/fuzzing.md from the `--json` files of `npm run fuzz` runs:
 * `node --import tsx fuzz/report.ts run-a.json run-b.json`. The figures are never typed by hand.
 */
import { readFileSync } from 'node:fs'
import type { EngineResult } from './run.ts'

const rows = new Map<string, Record<string, EngineResult[]>>()
let started = ''
let finished = ''
for (const file of process.argv.slice(2)) {
  const run = JSON.parse(readFileSync(file, 'utf8')) as {
    started: string
    finished: string
    results: EngineResult[]
  }
  if (started === '' || run.started < started) started = run.started
  if (run.finished > finished) finished = run.finished
  for (const r of run.results) {
    const row = rows.get(r.target) ?? {}
    ;(row[r.engine] ??= []).push(r)
    rows.set(r.target, row)
  }
}

const fmt = (n: number) => n.toLocaleString('en-US')
const sum = (list: EngineResult[] | undefined) => (list ?? []).reduce((s, r) => s + r.inputs, 0)
let total = 0
let failures = 0
console.log(`Run from ${started} to ${finished}.\n`)
console.log(
  '| target | jsfuzz (coverage-guided) | mutation runner | fast-check properties | total | failures |',
)
console.log('|---|--:|--:|--:|--:|--:|')
for (const [target, row] of rows) {
  const all = Object.values(row).flat()
  const t = all.reduce((s, r) => s + r.inputs, 0)
  const f = all.filter((r) => r.crash !== null).length
  total += t
  failures += f
  console.log(
    `| ${target} | ${fmt(sum(row.jsfuzz))} | ${fmt(sum(row.mutate))} | ${fmt(sum(row.props))} | ${fmt(t)} | ${f} |`,
  )
}
console.log(`| **all** | | | | **${fmt(total)}** | **${failures}** |`)
