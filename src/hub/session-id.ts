import { randomFillSync } from 'node:crypto'

// Session ids are bearer-adjacent: a `refresh` over HTTP names the session it extends, and
// presence shows them to other users. So each is 128 random bits, not a counter a client could
// walk. Random bytes are drawn 4 KiB at a time, so an id costs a slice and an encode, not a
// system call.
const POOL = Buffer.allocUnsafe(4096)
const ID_BYTES = 16
let offset = POOL.length

/**
 * A new unguessable connection id: 16 random bytes as 22 base64url characters.
 *
 * @example
 * newSessionId() // 'Xq3J0nZ1c2x1bW5vcHFyc3'
 */
export function newSessionId(): string {
  if (offset + ID_BYTES > POOL.length) {
    randomFillSync(POOL)
    offset = 0
  }
  const id = POOL.toString('base64url', offset, offset + ID_BYTES)
  offset += ID_BYTES
  return id
}
