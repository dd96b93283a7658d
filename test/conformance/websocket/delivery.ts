/**
 * The four ways every conformance case is delivered to the server: everything in one write, one
 * write per unit (frame or request line), one byte per write, and seeded random chops.
 *
 * @example
 * await deliver(socket, [frameA, frameB], 'chops', seededRandom('1.1.1/chops'))
 */
import type { Socket } from 'node:net'

export const MODES = ['whole', 'frames', 'bytes', 'chops'] as const
export type Mode = (typeof MODES)[number]

/**
 * In `bytes` mode the first BYTE_BUDGET bytes of a case go one byte per write (all of every
 * small case: headers, masks, payloads); after that the rest of a large case follows in
 * LARGE_CHUNK writes so scaled-up cases stay fast. The limit is stated here so nobody mistakes
 * it for full byte-by-byte delivery of multi-megabyte cases.
 */
export const BYTE_BUDGET = 4 * 1024
const LARGE_CHUNK = 16 * 1024

/** mulberry32 seeded from a string: the same case and mode always chop the same way. */
export function seededRandom(seed: string): () => number {
  let h = 2166136261
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 16777619)
  let a = h >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Writes `units` in the given mode; stops early once `alive()` turns false. */
export async function deliver(
  socket: Socket,
  units: Buffer[],
  mode: Mode,
  random: () => number,
  alive: () => boolean,
): Promise<void> {
  if (units.length === 0) return
  if (mode === 'whole') {
    await write(socket, Buffer.concat(units), alive)
    return
  }
  if (mode === 'chops') {
    // Chops ignore unit boundaries: cuts land inside headers, payloads and between frames.
    const all = Buffer.concat(units)
    const cap = Math.max(48, Math.ceil(all.length / 24))
    for (let i = 0; i < all.length && alive(); ) {
      const n = 1 + Math.floor(random() * cap)
      await write(socket, all.subarray(i, i + n), alive)
      i += n
      if (random() < 0.5) await turn()
    }
    return
  }
  if (mode === 'frames') {
    // A turn of the event loop between frames keeps them in separate segments; past the first
    // 64 frames only every 64th frame yields, so 16,000-fragment cases stay fast.
    for (let i = 0; i < units.length; i++) {
      if (!alive()) return
      await write(socket, units[i]!, alive)
      if (i < 64 || (i & 63) === 63) await turn()
    }
    return
  }
  const all = Buffer.concat(units)
  const prefix = Math.min(all.length, BYTE_BUDGET)
  for (let i = 0; i < prefix && alive(); i++) {
    await write(socket, all.subarray(i, i + 1), alive)
    if ((i & 15) === 15) await turn()
  }
  for (let i = prefix; i < all.length && alive(); i += LARGE_CHUNK)
    await write(socket, all.subarray(i, i + LARGE_CHUNK), alive)
}

function write(socket: Socket, bytes: Buffer, alive: () => boolean): Promise<void> | undefined {
  if (!alive() || socket.destroyed || !socket.writable) return
  if (socket.write(bytes)) return
  return new Promise<void>((resolve) => {
    const done = () => {
      socket.off('drain', done)
      socket.off('close', done)
      resolve()
    }
    socket.on('drain', done)
    socket.on('close', done)
  })
}
