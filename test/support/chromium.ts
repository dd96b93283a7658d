// Headless Chromium for browser tests: Debian's /usr/bin/chromium driven by playwright-core.
import { existsSync } from 'node:fs'

/** Where `.ci/run` installs Chromium (Debian's `chromium` package). */
export const CHROMIUM = '/usr/bin/chromium'

/**
 * Flags for a headless run on a machine with no outside network: without the
 * background-networking flags Chromium keeps trying to reach its own services.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/**
 * Why a browser test must skip (Chromium is not installed), or false when it can run.
 * Under `CI=true` a missing Chromium is an error, never a skip.
 */
export function chromiumSkipReason(): string | false {
  if (existsSync(CHROMIUM)) return false
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing; CI must install chromium`)
  return `${CHROMIUM} is not installed`
}
