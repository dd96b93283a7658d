// The benchmark suite's entry point.
//   node --import tsx bench/run.ts [scenario ...] [--reps N] [--peers a,b] [--quick] [--out file]
// With no scenario it runs them all. BENCH_QUICK=1 (or --quick) shrinks every scenario to check
// the harness in seconds; its figures are not results. Writes bench/results/latest.json (merged
// by scenario) and latest.md, and prints the tables.
import { execFileSync } from 'node:child_process'
import { parseArgs } from 'node:util'
import { runScenario, type ScenarioOutcome } from './lib/harness.ts'
import { loadAvg1, machineInfo } from './lib/proc.ts'
import { markdown, scenarioTable, writeReport } from './lib/report.ts'
import { SCENARIOS } from './lib/scenarios.ts'
import { hardFdLimit, killAll, ROOT } from './lib/spawn.ts'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    reps: { type: 'string' },
    peers: { type: 'string' },
    quick: { type: 'boolean', default: process.env.BENCH_QUICK === '1' },
    out: { type: 'string', default: `${ROOT}bench/results/latest.json` },
    help: { type: 'boolean', short: 'h' },
  },
})

if (values.help) {
  console.log(
    `usage: bench/run.ts [scenario ...] [--reps N] [--peers a,b] [--quick] [--out file]\nscenarios: ${SCENARIOS.map((s) => s.name).join(', ')}`,
  )
  process.exit(0)
}

const unknown = positionals.filter((n) => !SCENARIOS.some((s) => s.name === n))
if (unknown.length > 0) {
  console.error(
    `unknown scenario(s): ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`,
  )
  process.exit(2)
}
const chosen =
  positionals.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => positionals.includes(s.name))
const quick = values.quick === true
const reps = Number(values.reps ?? (quick ? 1 : 3))
const peers = values.peers ? values.peers.split(',').map((s) => s.trim()) : []

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.on(signal, () => {
    killAll()
    process.exit(code)
  })
}

let bun = 'unavailable'
try {
  bun = execFileSync(`${ROOT}node_modules/.bin/bun`, ['--version'], { encoding: 'utf8' }).trim()
} catch {}

const t0 = Date.now()
const loadAtStart = loadAvg1()
const outcomes: ScenarioOutcome[] = []
for (const s of chosen) {
  const o = await runScenario(s, { reps, quick, peers, log: (l) => console.log(l) })
  outcomes.push(o)
  console.log(`\n${scenarioTable(o)}\n`)
}

const report = writeReport(values.out!, {
  command: `node --import tsx bench/run.ts ${process.argv.slice(2).join(' ')}`.trim(),
  machine: { ...machineInfo(), bun, fdHardLimit: hardFdLimit(), loadAvg1AtStart: loadAtStart },
  scenarios: outcomes,
})
console.log(
  `\nwrote ${values.out} (${report.scenarios.length} scenario(s)) in ${Math.round((Date.now() - t0) / 1000)} s`,
)
if (outcomes.length > 1) console.log(`\n${markdown({ ...report, scenarios: outcomes })}`)
