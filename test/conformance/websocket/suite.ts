/**
 * The shared body of the conformance test files: every case of the chosen groups, delivered four
 * ways, against our testee and against a `ws` echo server (the control) in the same run. One test
 * per group per target; a failure names each failing case id, delivery mode and what the server
 * did. Seed for the random chops: CONFORMANCE_SEED (default 'switchboard').
 *
 * @example
 * conformanceSuite('WebSocket conformance: deflate', (g) => g === '12' || g === '13')
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { allCases, GROUP_NAMES } from './cases/index.ts'
import { countByGroup, describeFailures, type RunResult, runAll } from './runner.ts'
import { startTarget, type Target, type TargetName, TESTEE, testeeExists } from './targets.ts'

const SEED = process.env.CONFORMANCE_SEED ?? 'switchboard'
const CONCURRENCY = Number(process.env.CONFORMANCE_CONCURRENCY ?? 12)

/**
 * Defines one conformance test file's suite for the given groups. CONFORMANCE_GROUPS=6,13
 * narrows any file to those groups (for debugging one area).
 */
export function conformanceSuite(title: string, wanted: (group: string) => boolean): void {
  const only = process.env.CONFORMANCE_GROUPS?.split(',').map((g) => g.trim())
  const cases = allCases().filter((c) => wanted(c.group) && (!only || only.includes(c.group)))
  const groups = [...new Set(cases.map((c) => c.group))]
  const haveTestee = testeeExists()
  const names: TargetName[] = haveTestee ? ['switchboard', 'ws'] : ['ws']

  describe(title, () => {
    const targets = new Map<TargetName, Target>()
    const results = new Map<TargetName, RunResult[]>()
    const startErrors = new Map<TargetName, Error>()
    let elapsed = 0

    before(async () => {
      const started = Date.now()
      await Promise.all(
        names.map(async (name) => {
          try {
            const target = await startTarget(name)
            targets.set(name, target)
            results.set(name, await runAll(target.port, name, cases, SEED, CONCURRENCY))
          } catch (err) {
            startErrors.set(name, err as Error)
          }
        }),
      )
      elapsed = Date.now() - started
      const lines = [
        `conformance: ${cases.length} cases × 4 delivery modes, seed "${SEED}", ${elapsed} ms`,
      ]
      for (const group of groups) {
        const cells = names.map((name) => {
          const g = countByGroup(results.get(name) ?? []).get(group)
          if (!g) return `${name}: not run`
          return `${name} ${g.passed}/${g.runs} runs passed, ${g.runs - g.passed} failed (${g.casesPassed}/${g.cases} cases clean)`
        })
        lines.push(
          `  group ${group.padEnd(2)} ${GROUP_NAMES[group]!.padEnd(30)} ${cells.join(' | ')}`,
        )
      }
      for (const name of names) {
        const slow = [...(results.get(name) ?? [])]
          .sort((a, b) => b.outcome.elapsedMs - a.outcome.elapsedMs)
          .slice(0, 5)
        lines.push(
          `  slowest ${name} runs: ${slow.map((r) => `${r.c.id}[${r.mode}] ${r.outcome.elapsedMs} ms`).join(', ')}`,
        )
      }
      console.log(lines.join('\n'))
    })

    after(async () => {
      await Promise.all([...targets.values()].map((t) => t.stop()))
    })

    test('our testee exists and is part of the run', (t) => {
      if (haveTestee) return
      if (process.env.CI === 'true') assert.fail(`${TESTEE} is missing`)
      t.skip(`${TESTEE} does not exist yet; only the ws control ran`)
    })

    for (const name of names) {
      test(`${name} starts, and survives every case without crashing`, () => {
        const err = startErrors.get(name)
        if (err) assert.fail(`${name} failed to start or run: ${err.message}`)
        const target = targets.get(name)!
        assert.ok(target.alive(), `${name} exited during the run:\n${target.stderr().slice(-3000)}`)
      })
      for (const group of groups) {
        test(`${name} meets every group ${group} case (${GROUP_NAMES[group]}) in all four delivery modes`, () => {
          const all = results.get(name)
          if (!all) assert.fail(`${name} did not run`)
          const mine = all.filter((r) => r.c.group === group)
          assert.ok(mine.length > 0, 'no runs recorded')
          const failing = mine.filter((r) => r.problems.length > 0)
          if (failing.length > 0)
            assert.fail(
              `${failing.length} of ${mine.length} runs failed:\n${describeFailures(failing, name)}`,
            )
        })
      }
    }
  })
}
