import type { Codec } from '../protocol/codec.ts'
import { readServerMessage } from '../protocol/compact-push.ts'
import { encodeJsonText } from '../protocol/json.ts'
import type { ClientCommand } from '../protocol/messages.ts'
import { ABNORMAL_CLOSURE, type ClientTransport, type TransportHandler } from './transport.ts'

/** The part of the WHATWG `WebSocket` the client uses (browsers, Node >= 22, the `ws` package). */
export interface WebSocketLike {
  readonly readyState: number
  binaryType: string
  onopen: ((event: unknown) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: ((event: { code: number; reason: string }) => void) | null
  onerror: ((event: unknown) => void) | null
  send(data: string | Uint8Array): void
  close(code?: number, reason?: string): void
}

/** A `WebSocket` constructor: the global one, or `ws`'s `WebSocket` in Node 20. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike

const textDecoder = /* @__PURE__ */ new TextDecoder()

function noop(): void {}

/**
 * The WebSocket transport: one protocol message per frame, text frames for JSON and binary frames
 * for MessagePack, selected by the codec's subprotocol (`switchboard.v1.json` by default).
 *
 * @example
 * const t = new WebSocketTransport(WebSocket, 'wss://example.com/switchboard', jsonCodec, handler)
 */
export class WebSocketTransport implements ClientTransport {
  readonly name = 'websocket'
  readonly #socket: WebSocketLike
  readonly #codec: Codec
  readonly #handler: TransportHandler
  #opened = false
  #received = false
  #closed = false

  constructor(Ctor: WebSocketConstructor, url: string, codec: Codec, handler: TransportHandler) {
    this.#codec = codec
    this.#handler = handler
    const socket = new Ctor(url, [codec.subprotocol])
    socket.binaryType = 'arraybuffer'
    socket.onopen = this.#onOpen
    socket.onmessage = this.#onMessage
    socket.onclose = this.#onClose
    // A listener must stay: Node's `ws` throws an 'error' event nobody listens to. The close
    // event that follows carries what the client needs.
    socket.onerror = noop
    this.#socket = socket
  }

  send(command: ClientCommand): void {
    if (this.#closed) return
    const codec = this.#codec
    let data: string | Uint8Array
    if (codec.binary) data = codec.encode(command)
    else if (codec.name === 'json') data = encodeJsonText(command)
    else data = textDecoder.decode(codec.encode(command))
    this.#socket.send(data)
  }

  close(code: number, reason: string): void {
    if (this.#closed) return
    this.#closed = true
    this.#detach()
    try {
      this.#socket.close(code, reason)
    } catch {
      // a socket still connecting may refuse some codes; it is detached either way
      try {
        this.#socket.close()
      } catch {}
    }
  }

  #detach(): void {
    const s = this.#socket
    s.onopen = null
    s.onmessage = null
    s.onclose = null
  }

  #onOpen = (): void => {
    this.#opened = true
    this.#handler.onOpen()
  }

  #onMessage = (event: { data: unknown }): void => {
    const raw = event.data
    let decoded: unknown
    try {
      if (typeof raw === 'string') decoded = this.#codec.decode(raw)
      else if (raw instanceof ArrayBuffer) decoded = this.#codec.decode(new Uint8Array(raw))
      else if (ArrayBuffer.isView(raw)) {
        decoded = this.#codec.decode(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength))
      } else decoded = undefined
    } catch {
      decoded = undefined
    }
    // A publication arrives in its compact array form; anything unreadable is undefined here.
    const value = readServerMessage(decoded)
    if (value === undefined) {
      // Not protocol v1: the server and client disagree; start over on a fresh connection.
      this.#fail(1002, 'unreadable server message')
      return
    }
    this.#received = true
    try {
      this.#handler.onMessage(value)
    } catch {
      // A message of the right shape on the outside with fields the client cannot apply (say a
      // `publications` that is no list): as unreadable as any other, and never thrown out of
      // `onmessage`, where Node's `ws` would make it an uncaught exception.
      this.#fail(1002, 'unreadable server message')
    }
  }

  #onClose = (event: { code: number; reason: string }): void => {
    if (this.#closed) return
    this.#closed = true
    this.#detach()
    this.#handler.onClose(
      event.code || ABNORMAL_CLOSURE,
      event.reason ?? '',
      this.#opened,
      this.#received,
    )
  }

  #fail(code: number, reason: string): void {
    const opened = this.#opened
    const received = this.#received
    this.close(code, reason)
    this.#handler.onClose(code, reason, opened, received)
  }
}
