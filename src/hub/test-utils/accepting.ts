// Connections that take every write at once and count them, as the ws and sse layers present a
// socket with room to the hub: for allocation guards and the in-process cost benchmark
// (bench/hub-cost.ts), where what the hub itself does is measured, not a socket.
import { prepareMessage } from '../../ws/index.ts'
import { defineWireFormat, wsJsonFormat } from '../transport.ts'

/** A WebSocket connection as the ws layer presents it to the hub, whose writes all succeed. */
export class AcceptingWs {
  readonly bufferedAmount = 0
  writes = 0
  send(): number {
    this.writes++
    return 0
  }
  writePrepared(): number {
    this.writes++
    return 0
  }
  writePreparedBatch(): number {
    this.writes++
    return 0
  }
  close(): void {}
}

/** An SSE stream as the sse layer presents it to the hub, whose writes all succeed. */
export class AcceptingStream {
  writes = 0
  write(): boolean {
    this.writes++
    return true
  }
  writeBytes(): boolean {
    this.writes++
    return true
  }
  close(): void {}
}

/** The JSON wire format as `app.channels` sets it up: each frame also made once as the ws
 * layer's prepared message, which the transport hands over whole (one write per turn). */
export const preparedJsonFormat = defineWireFormat({
  name: 'ws-json',
  codec: wsJsonFormat.codec,
  native: prepareMessage,
})
