/**
 * Prints the markdown table of docs/fuzzing.md from the `--json` files of `npm run fuzz` runs:
 * `node --import tsx fuzz/report.ts run-a.json run-b.json`. The figures are never typed by hand.
 */
import { readFileSync } from 'node:fs'
import type { EngineResult } from './run.ts'

const rows = new Map<string, Record<string, EngineResult[]>>()
let started = ''
let finished = ''
/** A run's printed log, for a run stopped before it wrote its JSON: one line per engine run. */
function fromLog(text: string): { started: string; finished: string; results: EngineResult[] } {
  const results: EngineResult[] = []
  const line = /^(\S+)\s+(jsfuzz|mutate|props)\s+(\d+) inputs\s+(\d+) s\s+\d+\/s\s+(ok|FAILED)$/
  for (const l of text.split('\n')) {
    const m = line.exec(l.trim())
    if (m === null) continue
    results.push({
      target: m[1]!,
      engine: m[2] as EngineResult['engine'],
      inputs: Number(m[3]),
      seconds: Number(m[4]),
      crash: m[5] === 'ok' ? null : 'failed',
    })
  }
  return { started: '', finished: '', results }
}

for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, 'utf8')
  const run = file.endsWith('.json')
    ? (JSON.parse(text) as { started: string; finished: string; results: EngineResult[] })
    : fromLog(text)
  if (run.started !== '' && (started === '' || run.started < started)) started = run.started
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
if (started !== '') console.log(`Run from ${started} to ${finished}.\n`)
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
