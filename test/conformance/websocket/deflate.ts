/**
 * The client side of permessage-deflate (RFC 7692) for the conformance suite: parses the
 * server's negotiation response, compresses client messages with node:zlib raw deflate under the
 * negotiated parameters, and decodes server messages strictly (window size and context rules).
 *
 * @example
 * const params = parseDeflateResponse('permessage-deflate; server_no_context_takeover')
 * const payload = await new MessageDeflater(params).compress(Buffer.from('hello'))
 */
import zlib from 'node:zlib'

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff])
const { Z_SYNC_FLUSH } = zlib.constants

export interface DeflateParams {
  serverNoContextTakeover: boolean
  clientNoContextTakeover: boolean
  /** Window the server compresses with (8–15, default 15). */
  serverMaxWindowBits: number
  /** Window the client must compress with (8–15, default 15). */
  clientMaxWindowBits: number
  /** Raw parameters as the server wrote them, for negotiation checks. */
  raw: Array<[string, string | null]>
}

/**
 * Parses a `Sec-WebSocket-Extensions` response value. Returns null when permessage-deflate was not
 * accepted, or throws with a message when the response is malformed or names another extension.
 */
export function parseDeflateResponse(header: string | undefined): DeflateParams | null {
  if (header === undefined || header.trim() === '') return null
  const offers = header.split(',')
  if (offers.length !== 1) throw new Error(`server accepted ${offers.length} extensions: ${header}`)
  const parts = offers[0]!.split(';').map((p) => p.trim())
  if (parts[0] !== 'permessage-deflate')
    throw new Error(`server answered an unknown extension: ${header}`)
  const params: DeflateParams = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: 15,
    raw: [],
  }
  for (const part of parts.slice(1)) {
    const eq = part.indexOf('=')
    const name = (eq === -1 ? part : part.slice(0, eq)).trim()
    let value = eq === -1 ? null : part.slice(eq + 1).trim()
    if (value?.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
    if (params.raw.some(([n]) => n === name)) throw new Error(`duplicate parameter ${name}`)
    params.raw.push([name, value])
    if (name === 'server_no_context_takeover' && value === null)
      params.serverNoContextTakeover = true
    else if (name === 'client_no_context_takeover' && value === null)
      params.clientNoContextTakeover = true
    else if (name === 'server_max_window_bits' || name === 'client_max_window_bits') {
      const bits = value === null ? Number.NaN : Number(value)
      if (!/^\d+$/.test(value ?? '') || bits < 8 || bits > 15)
        throw new Error(`${name} has an invalid value ${value}`)
      if (name === 'server_max_window_bits') params.serverMaxWindowBits = bits
      else params.clientMaxWindowBits = bits
    } else throw new Error(`unknown or malformed parameter "${part}"`)
  }
  return params
}

/** Compresses client messages; keeps the LZ77 window between messages unless told not to. */
export class MessageDeflater {
  private stream: zlib.DeflateRaw | null = null
  private readonly windowBits: number

  constructor(
    private readonly params: Pick<DeflateParams, 'clientNoContextTakeover' | 'clientMaxWindowBits'>,
    private readonly options: { keepContext?: boolean } = {},
  ) {
    // node:zlib raises a raw window of 8 to 9; callers verify window-8 output with verifyWindow().
    this.windowBits = Math.max(9, params.clientMaxWindowBits)
  }

  /**
   * Returns the message payload (deflated bytes without the trailing 00 00 ff ff), or null when
   * the message must go uncompressed: with a negotiated window of 8, node:zlib (which raises 8 to 9)
   * may emit distances the server cannot follow, so such output is checked and dropped if needed.
   */
  async compress(data: Buffer): Promise<Buffer | null> {
    if (this.params.clientMaxWindowBits === 8) {
      const out = stripTail(zlib.deflateRawSync(data, { windowBits: 9, finishFlush: Z_SYNC_FLUSH }))
      try {
        const back = new MessageInflater(8, true).decode(out)
        return back.equals(data) ? out : null
      } catch {
        return null
      }
    }
    const keep = (this.options.keepContext ?? true) && !this.params.clientNoContextTakeover
    if (!keep) {
      const out = zlib.deflateRawSync(data, {
        windowBits: this.windowBits,
        finishFlush: Z_SYNC_FLUSH,
      })
      return stripTail(out)
    }
    this.stream ??= zlib.createDeflateRaw({ windowBits: this.windowBits })
    const stream = this.stream
    const chunks: Buffer[] = []
    const onData = (c: Buffer) => chunks.push(c)
    stream.on('data', onData)
    stream.write(data)
    await new Promise<void>((resolve) => stream.flush(Z_SYNC_FLUSH, () => resolve()))
    stream.off('data', onData)
    return stripTail(Buffer.concat(chunks))
  }

  close(): void {
    this.stream?.close()
    this.stream = null
  }
}

function stripTail(out: Buffer): Buffer {
  if (out.length >= 4 && out.subarray(out.length - 4).equals(TAIL)) return out.subarray(0, -4)
  return out
}

/**
 * Decodes server messages. With `noContext` every message must decode on its own; otherwise
 * a message may refer back to earlier ones. Decoding uses exactly the negotiated window, so a
 * server that exceeds its window fails with "invalid distance too far back".
 */
export class MessageInflater {
  private history: Buffer[] = []
  private produced = 0

  constructor(
    private readonly windowBits: number,
    private readonly noContext: boolean,
    private readonly maxOutput = 64 * 1024 * 1024,
  ) {}

  decode(payload: Buffer): Buffer {
    const framed = Buffer.concat([payload, TAIL])
    // zlib resolves back-references inside its current output buffer without looking at the
    // window, so a small output chunk is what makes the negotiated window actually binding
    // (distances up to window + 64 bytes pass). At 15 bits no distance can exceed the window.
    const opts = {
      chunkSize: this.windowBits < 15 ? 64 : 16 * 1024,
      windowBits: this.windowBits,
      finishFlush: Z_SYNC_FLUSH,
      maxOutputLength: this.maxOutput,
    }
    let out: Buffer | null = null
    let standaloneError: unknown = null
    try {
      out = zlib.inflateRawSync(framed, opts)
    } catch (err) {
      standaloneError = err
    }
    if (out === null && this.noContext) {
      throw new Error(
        `message does not decode on its own (server_no_context_takeover): ${String(standaloneError)}`,
      )
    }
    if (out === null) {
      const all = zlib.inflateRawSync(Buffer.concat([...this.history, framed]), {
        ...opts,
        maxOutputLength: this.maxOutput * 4,
      })
      out = all.subarray(this.produced)
    }
    if (!this.noContext) {
      this.history.push(framed)
      this.produced += out.length
    }
    return Buffer.from(out)
  }
}
