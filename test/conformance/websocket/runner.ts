/**
 * Runs every case in every delivery mode against one target over a pool of concurrent
 * connections, and summarises the results per group.
 *
 * @example
 * const results = await runAll(target.port, 'ws', allCases(), 'seed', 12)
 * console.log(summarise(results))
 */
import { type Case, caseFor, expectationFor, judge, type Outcome, runCase } from './case.ts'
import { MODES, type Mode } from './delivery.ts'
import type { TargetName } from './targets.ts'

export interface RunResult {
  c: Case
  mode: Mode
  problems: string[]
  outcome: Outcome
}

export async function runAll(
  port: number,
  target: TargetName,
  cases: Case[],
  seed: string,
  concurrency: number,
): Promise<RunResult[]> {
  // Heavy cases first so they overlap with the many small ones.
  const jobs = cases
    .flatMap((c) => (c.modes ?? MODES).map((mode) => ({ c, mode })))
    .sort((a, b) => (b.c.deadlineMs ?? 0) - (a.c.deadlineMs ?? 0))
  const results: RunResult[] = []
  let next = 0
  const worker = async () => {
    while (next < jobs.length) {
      const { c, mode } = jobs[next++]!
      const outcome = await runCase(port, caseFor(c, target, mode), mode, seed)
      const problems = judge(expectationFor(c, target, mode), outcome)
      results.push({ c, mode, problems, outcome })
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return results
}

export interface GroupCount {
  runs: number
  passed: number
  cases: number
  casesPassed: number
}

export function countByGroup(results: RunResult[]): Map<string, GroupCount> {
  const counts = new Map<string, GroupCount>()
  const failedCases = new Set(results.filter((r) => r.problems.length > 0).map((r) => r.c.id))
  const seenCases = new Set<string>()
  for (const r of results) {
    const g = counts.get(r.c.group) ?? { runs: 0, passed: 0, cases: 0, casesPassed: 0 }
    g.runs++
    if (r.problems.length === 0) g.passed++
    if (!seenCases.has(r.c.id)) {
      seenCases.add(r.c.id)
      g.cases++
      if (!failedCases.has(r.c.id)) g.casesPassed++
    }
    counts.set(r.c.group, g)
  }
  return counts
}

/** One line per failing run: case id, delivery mode, title and what went wrong. */
export function describeFailures(results: RunResult[], target: TargetName, limit = 60): string {
  const failing = results
    .filter((r) => r.problems.length > 0)
    .sort(
      (a, b) =>
        a.c.id.localeCompare(b.c.id, 'en', { numeric: true }) || a.mode.localeCompare(b.mode),
    )
  const lines = failing.slice(0, limit).map((r) => {
    const note =
      target === 'ws' && r.c.control ? ` [recorded ws difference: ${r.c.control.note}]` : ''
    return `${r.c.id} [${r.mode}] ${r.c.title}: ${r.problems.join('; ')}${note}`
  })
  if (failing.length > limit) lines.push(`… and ${failing.length - limit} more failing runs`)
  return lines.join('\n')
}
