import type { IncomingMessage } from 'node:http'
import { SwitchboardError } from '../errors/index.ts'

/**
 * Reads a request body into one buffer, refusing it with 413 as soon as it is known to be over
 * `limit` bytes: from `Content-Length` before a byte is read, or while reading when the length
 * is not declared (chunked). A body of exactly `limit` bytes is accepted.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length']
  if (declared !== undefined) {
    const length = Number(declared)
    if (length > limit) {
      return Promise.reject(
        new SwitchboardError(
          'SWB_ERR_BODY_TOO_LARGE',
          `The request body is larger than ${limit} bytes`,
        ),
      )
    }
  }
  if (req.readableEnded || req.complete) {
    if (req.readableDidRead) {
      return Promise.reject(new SwitchboardError('SWB_ERR_BODY_ALREADY_READ'))
    }
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let received = 0
    const cleanup = () => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('close', onClose)
    }
    const onData = (chunk: Buffer) => {
      received += chunk.length
      if (received > limit) {
        cleanup()
        // Stop reading: the response will carry `Connection: close` so the rest is never read.
        req.pause()
        reject(
          new SwitchboardError(
            'SWB_ERR_BODY_TOO_LARGE',
            `The request body is larger than ${limit} bytes`,
          ),
        )
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received))
    }
    const onError = (err: Error) => {
      cleanup()
      reject(new SwitchboardError('SWB_ERR_BODY_ABORTED', undefined, { cause: err }))
    }
    const onClose = () => {
      if (req.complete) return
      cleanup()
      reject(new SwitchboardError('SWB_ERR_BODY_ABORTED'))
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('close', onClose)
  })
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
