import type { Publication, ServerMessage } from '../protocol/index.ts'
import type { Frame, WireFormat } from './transport.ts'

/**
 * One server message prepared lazily, once per wire format: the first session that needs the
 * 'ws-json' frame makes it, every other session gets the same object. This is the "encode once
 * per wire format" step of fan-out.
 *
 * @example
 * const prepared = new PreparedMessage({ type: 'message', data: 1 })
 * prepared.frame(wsJsonFormat) === prepared.frame(wsJsonFormat) // true
 */
export class PreparedMessage {
  readonly message: ServerMessage
  #formats: WireFormat[] | null = null
  #frames: Frame[] | null = null

  constructor(message: ServerMessage) {
    this.message = message
  }

  frame(format: WireFormat): Frame {
    const formats = this.#formats
    if (formats !== null) {
      for (let i = 0; i < formats.length; i++) {
        if (formats[i] === format) return this.#frames![i]!
      }
    }
    const frame = format.prepare(this.message)
    if (formats === null) {
      this.#formats = [format]
      this.#frames = [frame]
    } else {
      formats.push(format)
      this.#frames!.push(frame)
    }
    return frame
  }
}

/** A publication on its way to subscribers: the stored publication and its prepared frames. */
export class PreparedPublication extends PreparedMessage {
  readonly channel: string
  readonly epoch: string
  readonly publication: Publication

  constructor(channel: string, publication: Publication, epoch: string) {
    super({ type: 'publication', channel, epoch, ...publication })
    this.channel = channel
    this.epoch = epoch
    this.publication = publication
  }

  get offset(): number {
    return this.publication.offset
  }
}
