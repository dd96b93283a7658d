// A clock read once per event-loop turn, for metrics. Reading the system clock costs up to a
// microsecond on some virtual machines (measured: 0.5-0.8 µs per performance.now() here), so
// timing every publication and request with it was a measurable cost. The first reading in a
// turn reads the clock; later ones in the same turn get the same value. Durations are exact to
// within the length of a turn.

let cached = -1

function clear(): void {
  cached = -1
}

/** Milliseconds (performance.now() scale) at the first reading of this event-loop turn. */
export function turnNow(): number {
  if (cached < 0) {
    cached = performance.now()
    setImmediate(clear)
  }
  return cached
}

/** Milliseconds since the Unix epoch, on the same once-per-turn reading. */
export function turnEpochMs(): number {
  return performance.timeOrigin + turnNow()
}
