/**
 * `npm run fuzz -- [--seconds N] [--engines jsfuzz,mutate,props] [--json file] [target...]`
 *
 * Runs each target (all by default) for N seconds (default 60), split over three engines:
 * - `jsfuzz` (coverage-guided, from the npm registry): the target bundled to CommonJS with
 *   esbuild, instrumented by jsfuzz (istanbul), its corpus kept in `fuzz/.work/<target>/corpus`;
 * - `mutate`: our in-process mutation runner over the seeds, the regression inputs and the corpus
 *   jsfuzz grew (fast: no per-input IPC or coverage bookkeeping);
 * - `props`: the target's fast-check properties (structured inputs, model/round-trip oracles).
 * Prints the inputs each engine ran per target, and exits 1 on any crash, failed oracle, hang or
 * memory blow-up, with the reproducer saved under `fuzz/corpus/<target>/`.
 */
import { spawn } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, relative } from 'node:path'
import { bundle, WORK_DIR } from './lib/bundle.ts'
import { regressionInputs, saveReproducer } from './lib/regressions.ts'
import { loadTarget, TARGETS } from './targets/index.ts'

const FUZZ = new URL('.', import.meta.url).pathname
const ROOT = join(FUZZ, '..')
const WORK = WORK_DIR
const require = createRequire(import.meta.url)

type Engine = 'jsfuzz' | 'mutate' | 'props'
const SHARE: Record<Engine, number> = { jsfuzz: 0.3, mutate: 0.6, props: 0.1 }

export interface EngineResult {
  engine: Engine
  target: string
  inputs: number
  seconds: number
  crash: string | null
  reproducer?: string
}

/** Silence that counts as a hang once a child has started reporting (it reports every second). */
const HANG_MS = 60_000
/** Time a child may take to load before its first line (tsx compiling on a loaded machine). */
const STARTUP_MS = 300_000

/** The process group of the running child, stopped with the runner on Ctrl-C. */
let current: number | null = null
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (current !== null) {
      try {
        process.kill(-current, 'SIGKILL')
      } catch {}
    }
    process.exit(130)
  })
}

/**
 * Watches a child: progress from stdout lines; stopped at `deadline`; killed as hung after
 * `HANG_MS` without output once it has started (or `STARTUP_MS` before its first line).
 */
function supervise(
  cmd: string,
  args: string[],
  opts: { cwd: string; deadlineMs: number; onLine: (line: string) => void },
): Promise<{ code: number | null; signal: string | null; hung: boolean; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    current = child.pid ?? null
    let last = Date.now()
    let started = false
    let hung = false
    let stopping = false
    const onData = (buf: Buffer) => {
      last = Date.now()
      started = true
      const text = buf.toString()
      output = (output + text).slice(-20000)
      for (const line of text.split('\n')) if (line.trim() !== '') opts.onLine(line)
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', (b: Buffer) => {
      output = (output + b.toString()).slice(-20000)
    })
    const kill = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal)
      } catch {}
    }
    const timer = setInterval(() => {
      const now = Date.now()
      if (!stopping && now > opts.deadlineMs) {
        stopping = true
        kill('SIGINT')
        setTimeout(() => kill('SIGKILL'), 5000).unref()
      } else if (!stopping && now - last > (started ? HANG_MS : STARTUP_MS)) {
        hung = true
        stopping = true
        kill('SIGKILL')
      }
    }, 500)
    child.on('exit', (code, signal) => {
      clearInterval(timer)
      current = null
      resolve({ code, signal, hung, output })
    })
  })
}

async function runJsfuzz(target: string, ms: number): Promise<EngineResult> {
  const t0 = Date.now()
  await bundle(target)
  const dir = join(WORK, target)
  const corpus = join(dir, 'corpus')
  mkdirSync(corpus, { recursive: true })
  const t = await loadTarget(target)
  for (const [i, s] of [...t.seeds(), ...regressionInputs(target).map((r) => r.data)].entries()) {
    writeFileSync(join(corpus, `seed-${i}`), s)
  }
  const artifact = join(dir, 'crash.bin')
  const jsfuzz = require.resolve('jsfuzz/build/src/index.js')
  let inputs = 0
  let crashed = false
  const r = await supervise(
    process.execPath,
    [
      jsfuzz,
      'target.cjs',
      'corpus',
      '--exact-artifact-path',
      artifact,
      '--timeout',
      '60',
      '--rss-limit-mb',
      '1536',
    ],
    {
      cwd: dir,
      deadlineMs: Date.now() + ms,
      onLine: (line) => {
        const m = /^#(\d+) /.exec(line)
        if (m) inputs = Math.max(inputs, Number(m[1]))
        if (
          line.startsWith('crash was written') ||
          line.startsWith('timeout reached') ||
          line.startsWith('MEMORY OOM')
        ) {
          crashed = true
        }
      },
    },
  )
  const seconds = (Date.now() - t0) / 1000
  const diedEarly = Date.now() - t0 < ms - 2000 && !crashed
  if (crashed || r.hung || diedEarly) {
    const reproducer = existsSync(artifact)
      ? saveReproducer(target, 'jsfuzz', readFileSync(artifact))
      : undefined
    return {
      engine: 'jsfuzz',
      target,
      inputs,
      seconds,
      crash: `jsfuzz ${r.hung ? 'hung' : crashed ? 'found a failure' : 'stopped early'}:\n${r.output.slice(-3000)}`,
      ...(reproducer === undefined ? null : { reproducer }),
    }
  }
  return { engine: 'jsfuzz', target, inputs, seconds, crash: null }
}

async function runWorker(
  engine: 'mutate' | 'props',
  target: string,
  ms: number,
  seed: number,
): Promise<EngineResult> {
  const t0 = Date.now()
  const corpus = join(WORK, target, 'corpus')
  const args = [
    '--import',
    'tsx',
    '--max-old-space-size=1536',
    join(FUZZ, 'worker.ts'),
    engine,
    target,
    String(ms),
    String(seed),
  ]
  if (engine === 'mutate') args.push(corpus)
  let last: Record<string, unknown> = { count: 0 }
  const r = await supervise(process.execPath, args, {
    cwd: ROOT,
    deadlineMs: Date.now() + ms + 30_000,
    onLine: (line) => {
      try {
        last = JSON.parse(line) as Record<string, unknown>
      } catch {}
    },
  })
  const inputs = Number(last.count ?? 0)
  const seconds = (Date.now() - t0) / 1000
  if (r.hung || (r.code !== 0 && last.crash == null)) {
    let reproducer: string | undefined
    if (engine === 'mutate' && r.hung) reproducer = await traceHang(target, seed, inputs)
    return {
      engine,
      target,
      inputs,
      seconds,
      crash: `${engine} ${r.hung ? `hung after ${inputs} inputs (seed ${seed})` : `died (code ${r.code}, signal ${r.signal})`}:\n${r.output.slice(-3000)}`,
      ...(reproducer === undefined ? null : { reproducer }),
    }
  }
  const crash = (last.crash as string | null | undefined) ?? null
  return {
    engine,
    target,
    inputs,
    seconds,
    crash,
    ...(typeof last.reproducer === 'string' ? { reproducer: last.reproducer } : null),
  }
}

/** Re-runs a hung mutate run with the same seed, writing each input first, to capture it. */
async function traceHang(
  target: string,
  seed: number,
  reached: number,
): Promise<string | undefined> {
  const file = join(WORK, target, 'trace.bin')
  const args = [
    '--import',
    'tsx',
    join(FUZZ, 'worker.ts'),
    'mutate',
    target,
    '3600000',
    String(seed),
    join(WORK, target, 'corpus'),
    '--trace',
    file,
  ]
  const r = await supervise(process.execPath, args, {
    cwd: ROOT,
    deadlineMs: Date.now() + 30 * 60_000,
    onLine: () => {},
  })
  if (!r.hung || !existsSync(file)) return undefined
  const out = saveReproducer(target, 'hang', readFileSync(file))
  copyFileSync(file, `${file}.last`)
  void reached
  return out
}

function parseArgs(argv: string[]) {
  let seconds = 60
  let engines: Engine[] = ['jsfuzz', 'mutate', 'props']
  let json: string | undefined
  const targets: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--seconds') seconds = Number(argv[++i])
    else if (a === '--engines') engines = argv[++i]!.split(',') as Engine[]
    else if (a === '--json') json = argv[++i]
    else targets.push(a)
  }
  if (!(seconds > 0)) throw new Error('--seconds must be a positive number')
  for (const t of targets)
    if (!(TARGETS as readonly string[]).includes(t)) throw new Error(`unknown target ${t}`)
  return { seconds, engines, json, targets: targets.length > 0 ? targets : [...TARGETS] }
}

async function main(): Promise<void> {
  const { seconds, engines, json, targets } = parseArgs(process.argv.slice(2))
  const total = engines.reduce((s, e) => s + SHARE[e], 0)
  const results: EngineResult[] = []
  const started = new Date().toISOString()
  console.log(`fuzz: ${targets.join(', ')} for ${seconds} s each (${engines.join(', ')})`)
  for (const target of targets) {
    for (const engine of engines) {
      const ms = Math.max(1000, Math.round((seconds * 1000 * SHARE[engine]) / total))
      const seed = Date.now() % 2 ** 31
      const r =
        engine === 'jsfuzz'
          ? await runJsfuzz(target, ms)
          : await runWorker(engine, target, ms, seed)
      results.push(r)
      const rate = Math.round(r.inputs / Math.max(r.seconds, 0.001))
      console.log(
        `${target.padEnd(12)} ${engine.padEnd(7)} ${String(r.inputs).padStart(10)} inputs ${r.seconds.toFixed(0).padStart(5)} s ${String(rate).padStart(7)}/s  ${r.crash === null ? 'ok' : 'FAILED'}`,
      )
      if (r.crash !== null) {
        console.log(r.crash)
        if (r.reproducer !== undefined) console.log(`reproducer: ${relative(ROOT, r.reproducer)}`)
      }
    }
  }
  const sum = results.reduce((s, r) => s + r.inputs, 0)
  const failed = results.filter((r) => r.crash !== null)
  console.log(`total: ${sum} inputs, ${failed.length} failure(s)`)
  if (json !== undefined) {
    writeFileSync(
      json,
      `${JSON.stringify({ started, finished: new Date().toISOString(), seconds, results }, null, 1)}\n`,
    )
  }
  process.exitCode = failed.length > 0 ? 1 : 0
}

await main()
