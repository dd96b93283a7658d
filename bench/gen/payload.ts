// The benchmark payload: a fixed-size ASCII string that carries the publisher's send time, so a
// subscriber in the same process can compute end-to-end latency. Layout (64 bytes by default):
//   '~' + 15-digit monotonic microseconds + '~' + 8-digit sequence + '~' + padding 'x'
// process.hrtime reads CLOCK_MONOTONIC, which every process on the machine shares.

const MARK = 0x7e // '~'

/** Length of the stamped head `~t~s~`: three marks around 15 + 8 digits, 26 bytes. */
export const PAYLOAD_HEAD = 26

/** Monotonic clock in microseconds (a double: exact for any realistic uptime). */
export function nowUs(): number {
  const [s, ns] = process.hrtime()
  return s * 1e6 + ns / 1e3
}

/** Builds one payload of `size` bytes (at least 27) stamped with `nowUs()` and `seq`. */
export function makePayload(seq: number, size = 64): string {
  const t = Math.floor(nowUs()).toString().padStart(15, '0')
  const s = (seq % 1e8).toString().padStart(8, '0')
  const head = `~${t}~${s}~`
  return head + 'x'.repeat(Math.max(0, size - head.length))
}

/**
 * Reads the send timestamp from the first payload marker found in `buf[start, end)`.
 * Returns -1 when there is none (a frame that is not a benchmark payload).
 */
export function readStampUs(buf: Buffer, start: number, end: number): number {
  const at = buf.indexOf(MARK, start)
  if (at < 0 || at + 16 > end) return -1
  let v = 0
  for (let i = at + 1; i < at + 16; i++) {
    const d = buf[i]! - 0x30
    if (d < 0 || d > 9) return -1
    v = v * 10 + d
  }
  return v
}

/**
 * The realistic workload's payload: the stamped head, then the 4-digit channel the publication
 * was sent to, `~t~s~cccc`, then padding 'x'. `seq` is the publication's number on its own
 * channel (1, 2, …), so a subscriber can tell which of a channel's publications it missed.
 */
export const ROOM_PAYLOAD_HEAD = PAYLOAD_HEAD + 4

/** Builds a room payload of `size` bytes (at least 31) for publication `seq` of channel `chan`. */
export function makeRoomPayload(seq: number, chan: number, size = 64): string {
  const head = makePayload(seq, PAYLOAD_HEAD) + chan.toString().padStart(4, '0')
  return head + 'x'.repeat(Math.max(0, size - head.length))
}

/** The decimal number in `buf[from, from + digits)`, or -1 when a byte there is not a digit. */
export function readDigits(buf: Buffer, from: number, digits: number): number {
  let v = 0
  for (let i = from; i < from + digits; i++) {
    const d = buf[i]! - 0x30
    if (d < 0 || d > 9) return -1
    v = v * 10 + d
  }
  return v
}
