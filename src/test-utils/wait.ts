/** Polls `predicate` until it holds, or throws after `ms` naming `what` it waited for. */
export async function waitFor(
  predicate: () => boolean,
  ms = 5000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 2))
  }
}

/** `waitFor` with the description first, for tests that always name what they wait for. */
export function until(predicate: () => boolean, what: string, ms = 3000): Promise<void> {
  return waitFor(predicate, ms, what)
}
