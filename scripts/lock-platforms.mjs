#!/usr/bin/env node
// Records, in package-lock.json, the platform-specific optional packages that the registry this
// project installs from does not carry (it 404s on, for example, Biome's and msgpackr-extract's
// darwin/win32/android builds). npm leaves such packages out of the lock when it writes it, and
// then `npm ci` refuses the lock as "out of sync". Each missing entry is written with the os,
// cpu and libc its name states, so `npm ci` skips it on this platform as it would any
// non-matching optional package. Run it after `npm install` changes the lock:
//   node scripts/lock-platforms.mjs          (writes the lock)
//   node scripts/lock-platforms.mjs --check  (exits 1 if an entry is missing)
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const file = fileURLToPath(new URL('../package-lock.json', import.meta.url))
const lock = JSON.parse(readFileSync(file, 'utf8'))
const packages = lock.packages
const OS = ['android', 'darwin', 'linux', 'win32', 'freebsd', 'openbsd', 'netbsd', 'sunos', 'aix']
const CPU = ['arm64', 'x64', 'arm', 'ia32', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el']

function platformOf(name) {
  const parts = name.split('/').pop().split('-')
  const os = parts.find((p) => OS.includes(p))
  const cpu = parts.find((p) => CPU.includes(p))
  if (!os || !cpu) return null
  return { os: [os], cpu: [cpu], ...(parts.includes('musl') ? { libc: ['musl'] } : null) }
}

const added = []
for (const [path, meta] of Object.entries(packages)) {
  if (!path.startsWith('node_modules/') || !meta.optionalDependencies) continue
  for (const [dep, version] of Object.entries(meta.optionalDependencies)) {
    const key = `node_modules/${dep}`
    if (packages[key] || packages[`${path}/${key}`]) continue
    const platform = platformOf(dep)
    if (!platform) continue
    packages[key] = { version, ...(meta.dev ? { dev: true } : null), optional: true, ...platform }
    added.push(`${dep}@${version}`)
  }
}

if (process.argv.includes('--check')) {
  if (added.length > 0) {
    console.error(
      `package-lock.json lacks ${added.length} platform entries; run node scripts/lock-platforms.mjs`,
    )
    process.exit(1)
  }
  process.exit(0)
}
if (added.length > 0) {
  lock.packages = Object.fromEntries(
    Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)),
  )
  writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`)
}
console.log(
  added.length
    ? `added ${added.join(', ')}`
    : 'package-lock.json already lists every platform package',
)
