// Raw client-side WebSocket pieces for the abuse tests: a handshake on a plain socket and
// masked frames of any shape (fragments, RSV1, lying lengths).
import { connect, type Socket } from 'node:net'

/** A masked client frame; `fin` false makes a fragment, `rsv1` marks a compressed message. */
export function frame(opcode: number, payload: Buffer, fin = true, rsv1 = false): Buffer {
  const n = payload.length
  const hdr = n < 126 ? 2 : n < 65536 ? 4 : 10
  const out = Buffer.allocUnsafe(hdr + 4 + n)
  out[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode
  if (n < 126) out[1] = 0x80 | n
  else if (n < 65536) {
    out[1] = 0x80 | 126
    out.writeUInt16BE(n, 2)
  } else {
    out[1] = 0x80 | 127
    out.writeUInt32BE(Math.floor(n / 2 ** 32), 2)
    out.writeUInt32BE(n >>> 0, 6)
  }
  out.writeUInt32BE(0x01020304, hdr) // a fixed mask: the payload below is XORed with it
  for (let i = 0; i < n; i++) out[hdr + 4 + i] = payload[i]! ^ [1, 2, 3, 4][i & 3]!
  return out
}

/** Opens a raw WebSocket on `path`; resolves with the socket and the 101's head once it arrived. */
export function openRaw(
  port: number,
  path: string,
  extraHeaders = '',
): Promise<{ socket: Socket; head: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('error', reject)
    let got = Buffer.alloc(0)
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d])
      const end = got.indexOf('\r\n\r\n')
      if (end < 0) return
      socket.off('data', onData)
      const head = got.toString('latin1', 0, end)
      if (!head.startsWith('HTTP/1.1 101')) reject(new Error(head.split('\r\n')[0]))
      else resolve({ socket, head })
      if (got.length > end + 4) socket.unshift(got.subarray(end + 4))
    }
    socket.on('data', onData)
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`,
    )
  })
}

/**
 * Reads frames until the server's close frame (then drops the connection rather than making the
 * server wait its closeTimeout for our answer) or the end of the connection; resolves with the
 * close frame's code (0: none).
 */
export function closeCode(socket: Socket): Promise<number> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0)
    let code = 0
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      for (;;) {
        if (buf.length < 2) break
        let len = buf[1]! & 0x7f
        let hdr = 2
        if (len === 126) {
          if (buf.length < 4) break
          len = buf.readUInt16BE(2)
          hdr = 4
        } else if (len === 127) {
          if (buf.length < 10) break
          len = buf.readUInt32BE(6)
          hdr = 10
        }
        if (buf.length < hdr + len) break
        if ((buf[0]! & 0x0f) === 0x8) {
          code = len >= 2 ? buf.readUInt16BE(hdr) : 0
          socket.destroy()
          resolve(code)
          return
        }
        buf = buf.subarray(hdr + len)
      }
    })
    socket.on('error', () => {})
    socket.on('close', () => resolve(code))
    socket.resume()
  })
}
