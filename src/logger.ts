import { type Logger, pino } from 'pino'
import type { SwitchboardOptions } from './options.ts'

/** The app's logger: the one given, a pino built from the options given, or a silent one. */
export function createLogger(option: SwitchboardOptions['logger']): Logger {
  if (option === false) return pino({ level: 'silent' })
  if (option && typeof (option as Logger).child === 'function') return option as Logger
  return pino({
    level: process.env.LOG_LEVEL ?? 'info',
    base: { name: 'switchboard' },
    ...(option as object | undefined),
  })
}
