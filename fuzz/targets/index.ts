/** Every fuzz target by name, loaded on demand (each pulls in only the code it fuzzes). */
export interface Target {
  readonly name: string
  fuzz(data: Buffer): void | Promise<void>
  seeds(): Buffer[]
}

export const TARGETS = [
  'ws-frames',
  'ws-deflate',
  'utf8',
  'http-body',
  'sse',
  'protocol',
  'client-push',
] as const

export type TargetName = (typeof TARGETS)[number]

export async function loadTarget(name: string): Promise<Target> {
  if (!(TARGETS as readonly string[]).includes(name)) {
    throw new Error(`unknown fuzz target ${JSON.stringify(name)} (known: ${TARGETS.join(', ')})`)
  }
  return (await import(`./${name}.ts`)) as Target
}
