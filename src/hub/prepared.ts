import type { Publication, PublicationPush, ServerMessage } from '../protocol/index.ts'
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
  /** The stream of a publication whose message leaves its epoch out (frames record it). */
  readonly #epoch: string | undefined
  #formats: WireFormat[] | null = null
  #frames: Frame[] | null = null

  constructor(message: ServerMessage, epoch?: string) {
    this.message = message
    this.#epoch = epoch
  }

  frame(format: WireFormat): Frame {
    const formats = this.#formats
    if (formats !== null) {
      for (let i = 0; i < formats.length; i++) {
        if (formats[i] === format) return this.#frames![i]!
      }
    }
    const frame = format.prepare(this.message, this.#epoch)
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

/** What a publication push carries besides channel, offset and data. */
export interface PushFields {
  /** Write the epoch (the channel's first publication on this node, or a new epoch). */
  readonly epoch: boolean
  /** Write `time` (the namespace's `timestamps`). */
  readonly time: boolean
}

const FIELDS: readonly PushFields[] = [
  { epoch: false, time: false },
  { epoch: true, time: false },
  { epoch: false, time: true },
  { epoch: true, time: true },
]

/** The (shared) {@link PushFields} for these choices. */
export function pushFields(epoch: boolean, time: boolean): PushFields {
  return FIELDS[(epoch ? 1 : 0) + (time ? 2 : 0)]!
}

/** A publication on its way to subscribers: the stored publication and its prepared frames. */
export class PreparedPublication extends PreparedMessage {
  readonly channel: string
  readonly epoch: string
  readonly publication: Publication

  constructor(channel: string, publication: Publication, epoch: string, fields: PushFields) {
    super(publicationPush(channel, publication, epoch, fields), epoch)
    this.channel = channel
    this.epoch = epoch
    this.publication = publication
  }

  get offset(): number {
    return this.publication.offset
  }
}

/**
 * The push for one publication, fields in wire order. A subscriber knows its channel's epoch
 * from the subscribe answer, so a push names it only when it may be news: on the channel's
 * first publication this node sends and whenever the epoch changes (a subscriber that lost that
 * publication gets a gap marker naming the new epoch instead).
 */
function publicationPush(
  channel: string,
  publication: Publication,
  epoch: string,
  fields: PushFields,
): PublicationPush {
  const push: Record<string, unknown> = {
    type: 'publication',
    channel,
    offset: publication.offset,
  }
  if (fields.epoch) push.epoch = epoch
  push.data = publication.data
  if (publication.info !== undefined) push.info = publication.info
  if (publication.key !== undefined) push.key = publication.key
  if (fields.time && publication.time !== undefined) push.time = publication.time
  return push as unknown as PublicationPush
}

/** Publications as clients get them in recovery and history answers: `time` only when the
 * namespace has `timestamps`, as in live pushes. */
export function clientPublications(
  publications: readonly Publication[],
  time: boolean,
): readonly Publication[] {
  if (time) return publications
  return publications.map((p) => {
    if (p.time === undefined) return p
    const { time: _, ...rest } = p
    return rest
  })
}
