// A client of the realistic workload (issue #18): one WebSocket that is a member of the channel
// every client is on and of one room at a time. It joins, leaves and moves between rooms when
// the scenario tells it to, waits for the server to confirm each join, and checks every
// publication it receives against what was published, so a missed delivery is counted and not
// just absent from a rate.
//
// Dialects (same workload, each server's own way of saying it):
// - `channel`: Switchboard protocol v1 in JSON: `connect`, then `subscribe` / `unsubscribe` to
//   `bench:<name>`, confirmed by the reply with the command's id; publications are arrays.
// - `socketio`: Socket.IO events `join` (with an acknowledgement) and `leave`; publications are
//   `m` events.
// - `ws`: text commands `j:<id>:<name>` (answered `+<id>`) and `l:<name>`, for `ws` and Bun;
//   publications are the bare payload.
// Channel names: `r<index>` for a room, `all` for the channel everyone is on.
import type { Samples } from '../lib/stats.ts'
import { nowUs, ROOM_PAYLOAD_HEAD, readDigits } from './payload.ts'
import { clientFrame, WsClient, type WsSink } from './ws-client.ts'

export type RoomDialect = 'channel' | 'socketio' | 'ws'

const TILDE = 0x7e
const SIO_CONNECT = clientFrame(Buffer.from('40'))
const SIO_PONG = clientFrame(Buffer.from('3'))

/** What the clients of one run share: publication counts, latency samples, the loss tally. */
export class RoomState {
  /** Publications sent so far per channel: index = room, the last one (`all`) = the all-channel. */
  readonly published: Int32Array
  /** The all-channel's index (= the number of rooms). */
  readonly all: number
  /** Latency is sampled while true. */
  measuring = false
  /** Publications a member was due to receive, over memberships settled so far. */
  expected = 0
  /** Of those, the ones that did not arrive. */
  lost = 0

  constructor(
    rooms: number,
    readonly latency: Samples,
  ) {
    this.published = new Int32Array(rooms + 1)
    this.all = rooms
  }

  /** The channel's name on the wire (without Switchboard's `bench:` namespace). */
  name(chan: number): string {
    return chan === this.all ? 'all' : `r${chan}`
  }
}

/**
 * One membership's bookkeeping. A member is due every publication of its channel sent after the
 * server confirmed the join (`from` on): the POST that carries it leaves the generator after the
 * confirmation arrived, so the server handles it after the join. Publications that raced the
 * join and arrive anyway are counted as deliveries, not as due.
 */
class Membership {
  /** The first publication number due; 0 while not a confirmed member. */
  from = 0
  /** Due publications received. */
  got = 0
  /** Highest publication number received. */
  max = 0
  /** The id of the join command awaiting confirmation; 0 when none. */
  joinId = 0

  confirm(published: number): void {
    this.joinId = 0
    this.from = published + 1
    this.got = 0
    this.max = 0
  }

  receive(seq: number): void {
    if (this.from === 0 || seq < this.from) return
    this.got++
    if (seq > this.max) this.max = seq
  }

  /** Due publications up to `upper` not received. */
  missing(upper: number): number {
    return this.from > 0 && upper >= this.from ? Math.max(0, upper - this.from + 1 - this.got) : 0
  }

  /** Ends the membership: adds what was due up to `upper` and what of it is missing. */
  settle(state: RoomState, upper: number): void {
    if (this.from > 0 && upper >= this.from) {
      state.expected += upper - this.from + 1
      state.lost += this.missing(upper)
    }
    this.from = 0
    this.joinId = 0
  }
}

const PATHS: Record<RoomDialect, string> = {
  channel: '/ws',
  socketio: '/socket.io/?EIO=4&transport=websocket',
  ws: '/ws',
}

export class RoomClient extends WsClient {
  private readonly allSub = new Membership()
  private readonly roomSub = new Membership()
  private nextId = 1

  constructor(
    port: number,
    readonly dialect: RoomDialect,
    /** The room this client is in (or joining). */
    public room: number,
    sink: WsSink,
    readonly state: RoomState,
  ) {
    super(port, PATHS[dialect], dialect, sink)
  }

  /** Open, both joins confirmed, and no join awaiting its confirmation. */
  get settled(): boolean {
    return this.open && !this.closed && this.allSub.joinId === 0 && this.roomSub.joinId === 0
  }

  /** Leaves the current room and joins `room`. */
  moveTo(room: number): void {
    this.roomSub.settle(this.state, this.roomSub.max)
    const leave = this.command(false, this.room)
    this.room = room
    this.roomSub.joinId = ++this.nextId
    this.socket.write(Buffer.concat([leave, this.command(true, room, this.roomSub.joinId)]))
  }

  /** Closes the connection (a client going away): both memberships end where they stand. */
  leave(): void {
    this.allSub.settle(this.state, this.allSub.max)
    this.roomSub.settle(this.state, this.roomSub.max)
    this.destroy()
  }

  /** Publications due and not (yet) received, as of now. */
  missing(): number {
    const p = this.state.published
    return this.allSub.missing(p[this.state.all]!) + this.roomSub.missing(p[this.room]!)
  }

  /** At the end of a run: settles both memberships against everything published. */
  settleAll(): void {
    const p = this.state.published
    this.allSub.settle(this.state, p[this.state.all]!)
    this.roomSub.settle(this.state, p[this.room]!)
  }

  protected override afterHandshake(): void {
    if (this.dialect === 'channel') {
      const connect = clientFrame(Buffer.from(`{"id":${this.nextId},"type":"connect"}`))
      this.socket.write(Buffer.concat([connect, this.joins()]))
    } else if (this.dialect === 'ws') this.socket.write(this.joins())
    // Socket.IO: the joins wait for the namespace's CONNECT answer.
  }

  protected override ended(reason: string): void {
    // Closed by the server or failed: the memberships end where they stand.
    this.allSub.settle(this.state, this.allSub.max)
    this.roomSub.settle(this.state, this.roomSub.max)
    super.ended(reason)
  }

  protected override onMessage(buf: Buffer, start: number, end: number): void {
    const b = buf[start]
    if (this.dialect === 'channel') {
      if (b === 0x5b /* [: a publication */) this.payloads(buf, start, end)
      else if (b === 0x7b /* {: a reply or a push */) this.reply(buf, start, end)
    } else if (this.dialect === 'ws') {
      if (b === TILDE) this.payloads(buf, start, end)
      else if (b === 0x2b /* +<id> */) this.confirm(readId(buf, start + 1, end))
    } else if (b === 0x34 /* Engine.IO message */) {
      const sio = buf[start + 1]
      if (sio === 0x32 /* EVENT */) this.payloads(buf, start, end)
      else if (sio === 0x33 /* ACK <id> */) this.confirm(readId(buf, start + 2, end))
      else if (sio === 0x30 /* CONNECT answered */ && this.allSub.joinId === 0 && !this.open)
        this.socket.write(this.joins())
    } else if (b === 0x30 /* Engine.IO open */) this.socket.write(SIO_CONNECT)
    else if (b === 0x32 /* Engine.IO ping */) this.socket.write(SIO_PONG)
  }

  /** The two joins of a new connection: the all-channel and the room. */
  private joins(): Buffer {
    this.allSub.joinId = ++this.nextId
    this.roomSub.joinId = ++this.nextId
    return Buffer.concat([
      this.command(true, this.state.all, this.allSub.joinId),
      this.command(true, this.room, this.roomSub.joinId),
    ])
  }

  private command(join: boolean, chan: number, id = ++this.nextId): Buffer {
    const name = this.state.name(chan)
    let text: string
    if (this.dialect === 'channel')
      text = `{"id":${id},"type":"${join ? 'subscribe' : 'unsubscribe'}","channel":"bench:${name}"}`
    else if (this.dialect === 'socketio')
      text = join ? `42${id}["join","${name}"]` : `42["leave","${name}"]`
    else text = join ? `j:${id}:${name}` : `l:${name}`
    return clientFrame(Buffer.from(text))
  }

  /** A protocol v1 reply (`{"id":…`) or an object push; an error reply fails the client. */
  private reply(buf: Buffer, start: number, end: number): void {
    const text = buf.toString('utf8', start, Math.min(end, start + 300))
    if (text.includes('"error"')) {
      this.fail(`channel protocol error: ${text.slice(0, 200)}`)
      return
    }
    const m = /^\{"id":(\d+)/.exec(text)
    if (m) this.confirm(Number(m[1]))
  }

  private confirm(id: number): void {
    if (id <= 0) return
    const p = this.state.published
    if (id === this.allSub.joinId) this.allSub.confirm(p[this.state.all]!)
    else if (id === this.roomSub.joinId) this.roomSub.confirm(p[this.room]!)
    else return
    if (!this.open && this.allSub.joinId === 0 && this.roomSub.joinId === 0) this.becomeOpen()
  }

  /** Every payload in `buf[start, end)`: counted, its latency sampled, its due-ness checked. */
  private payloads(buf: Buffer, start: number, end: number): void {
    const st = this.state
    let now = -1
    let at = buf.indexOf(TILDE, start)
    while (at >= 0 && at + ROOM_PAYLOAD_HEAD <= end) {
      const t = readDigits(buf, at + 1, 15)
      const seq = buf[at + 16] === TILDE ? readDigits(buf, at + 17, 8) : -1
      const chan = buf[at + 25] === TILDE ? readDigits(buf, at + 26, 4) : -1
      if (t < 0 || seq < 0 || chan < 0) {
        at = buf.indexOf(TILDE, at + 1)
        continue
      }
      this.messages++
      this.sink.delivered++
      if (st.measuring) {
        if (now < 0) now = nowUs()
        st.latency.add((now - t) / 1000)
      }
      if (chan === st.all) this.allSub.receive(seq)
      else if (chan === this.room) this.roomSub.receive(seq)
      at = buf.indexOf(TILDE, at + ROOM_PAYLOAD_HEAD)
    }
  }
}

/** The decimal id at `buf[from…]` up to the first non-digit; 0 when there is none. */
function readId(buf: Buffer, from: number, end: number): number {
  let v = 0
  for (let i = from; i < end; i++) {
    const d = buf[i]! - 0x30
    if (d < 0 || d > 9) break
    v = v * 10 + d
  }
  return v
}
