import type { IncomingMessage } from 'node:http'
import { SwitchboardError } from '../errors/index.ts'

/**
 * Reads a request body into one buffer, refusing it with 413 as soon as it is known to be over
 * `limit` bytes: from `Content-Length` before a byte is read, or while reading when the length
 * is not declared (chunked). A body of exactly `limit` bytes is accepted.
 *
 * A request makes one reader object and its promise: the listeners are module functions that
 * find the reader on the request, not closures made per request.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length']
  if (declared !== undefined) {
    const length = Number(declared)
    if (length > limit) return Promise.reject(tooLarge(limit))
  }
  if (req.readableEnded || req.complete) {
    if (req.readableDidRead) {
      return Promise.reject(new SwitchboardError('SWB_ERR_BODY_ALREADY_READ'))
    }
  }
  const promise = new Promise<Buffer>(capture)
  const reader = new BodyReader(limit, captured.resolve!, captured.reject!)
  captured.resolve = captured.reject = null
  const r = req as ReadingRequest
  r[kReader] = reader
  req.on('data', onData)
  req.on('end', onEnd)
  req.on('error', onError)
  req.on('close', onClose)
  return promise
}

const kReader = Symbol('switchboard.bodyReader')

interface ReadingRequest extends IncomingMessage {
  [kReader]?: BodyReader | null
}

class BodyReader {
  chunks: Buffer[] = []
  received = 0
  constructor(
    readonly limit: number,
    readonly resolve: (body: Buffer) => void,
    readonly reject: (err: Error) => void,
  ) {}
}

// The promise executor hands its functions over here (a module function, not a closure).
const captured: {
  resolve: ((body: Buffer) => void) | null
  reject: ((err: Error) => void) | null
} = { resolve: null, reject: null }

function capture(resolve: (body: Buffer) => void, reject: (err: Error) => void): void {
  captured.resolve = resolve
  captured.reject = reject
}

function tooLarge(limit: number): SwitchboardError {
  return new SwitchboardError(
    'SWB_ERR_BODY_TOO_LARGE',
    `The request body is larger than ${limit} bytes`,
  )
}

/** Detaches the reader from `req`; returns it, or null when it already finished. */
function finish(req: ReadingRequest): BodyReader | null {
  const reader = req[kReader] ?? null
  req[kReader] = null
  req.off('data', onData)
  req.off('end', onEnd)
  req.off('error', onError)
  req.off('close', onClose)
  return reader
}

function onData(this: ReadingRequest, chunk: Buffer): void {
  const reader = this[kReader]
  if (reader == null) return
  reader.received += chunk.length
  if (reader.received > reader.limit) {
    finish(this)
    // Stop reading: the response will carry `Connection: close` so the rest is never read.
    this.pause()
    reader.reject(tooLarge(reader.limit))
    return
  }
  reader.chunks.push(chunk)
}

function onEnd(this: ReadingRequest): void {
  const reader = finish(this)
  if (reader === null) return
  const chunks = reader.chunks
  reader.resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, reader.received))
}

function onError(this: ReadingRequest, err: Error): void {
  finish(this)?.reject(new SwitchboardError('SWB_ERR_BODY_ABORTED', undefined, { cause: err }))
}

function onClose(this: ReadingRequest): void {
  if (this.complete) return
  finish(this)?.reject(new SwitchboardError('SWB_ERR_BODY_ABORTED'))
}

/** The media type of a `Content-Type` header, lower-cased, without parameters. */
export function mediaType(contentType: string | undefined): string {
  if (!contentType) return ''
  const semi = contentType.indexOf(';')
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase()
}

/** The `charset` parameter of a `Content-Type` header, lower-cased, or undefined. */
export function charsetOf(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined
  const m = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType)
  return m?.[1]?.toLowerCase()
}

/** Whether a media type is JSON (`application/json` or any `+json` suffix). */
export function isJsonType(type: string): boolean {
  return type === 'application/json' || type.endsWith('+json')
}
