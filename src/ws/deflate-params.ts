import type { ExtensionOffer } from './handshake.ts'

/**
 * Server-side permessage-deflate settings of a route (RFC 7692). Off unless `compression` is set.
 *
 * @example
 * app.ws('/feed', { compression: { threshold: 256, serverNoContextTakeover: true }, message() {} })
 */
export interface CompressionOptions {
  /** Messages smaller than this many bytes are sent uncompressed. Default 1024. */
  threshold?: number
  /** Ask to reset our compressor after each message (less memory, worse ratio). Default false. */
  serverNoContextTakeover?: boolean
  /** Ask the client to reset its compressor after each message. Default false. */
  clientNoContextTakeover?: boolean
  /** Largest LZ77 window we compress with, 8-15. Default 15. */
  serverMaxWindowBits?: number
  /** Largest window we ask the client to use when it offers `client_max_window_bits`, 8-15. Default 15. */
  clientMaxWindowBits?: number
  /** zlib compression level, 0-9. Default 1 (fast: messages are small and latency matters). */
  level?: number
  /** zlib memLevel, 1-9. Default 8. */
  memLevel?: number
}

/** A route's resolved compression settings. */
export interface DeflateConfig {
  readonly threshold: number
  readonly serverNoContextTakeover: boolean
  readonly clientNoContextTakeover: boolean
  readonly serverMaxWindowBits: number
  readonly clientMaxWindowBits: number
  readonly level: number
  readonly memLevel: number
}

/** The parameters agreed for one connection, and the response header value that states them. */
export interface DeflateParams {
  readonly serverNoContextTakeover: boolean
  readonly clientNoContextTakeover: boolean
  readonly serverMaxWindowBits: number
  readonly clientMaxWindowBits: number
  readonly header: string
}

/**
 * RFC 7692 §5 and §7.1: accepts the first acceptable permessage-deflate offer. An offer with an
 * unknown parameter, a repeated parameter or an invalid value (window bits outside 8-15, a value
 * on a flag) is declined, never a crash; null when no offer is acceptable.
 */
export function negotiateDeflate(
  offers: ExtensionOffer[],
  cfg: DeflateConfig,
): DeflateParams | null {
  for (const offer of offers) {
    if (offer.name !== 'permessage-deflate') continue
    const p = acceptOffer(offer, cfg)
    if (p !== null) return p
  }
  return null
}

function windowBits(v: string | true): number {
  // RFC 7692 §7.1.2.1: 1*DIGIT from 8 to 15, without leading zeros.
  if (v === true || !/^(?:[89]|1[0-5])$/.test(v)) return -1
  return Number(v)
}

function acceptOffer(offer: ExtensionOffer, cfg: DeflateConfig): DeflateParams | null {
  let serverNoCtx = false
  let clientNoCtx = false
  let serverBits = 0 // 0: not offered
  let clientBits = 0 // 0: not offered; 16: offered without a value
  const seen = new Set<string>()
  for (const [name, value] of offer.params) {
    // RFC 7692 §7: a repeated parameter declines the offer.
    if (seen.has(name)) return null
    seen.add(name)
    switch (name) {
      case 'server_no_context_takeover': // §7.1.1.1
        if (value !== true) return null
        serverNoCtx = true
        break
      case 'client_no_context_takeover': // §7.1.1.2
        if (value !== true) return null
        clientNoCtx = true
        break
      case 'server_max_window_bits': // §7.1.2.1: a value is required
        serverBits = windowBits(value)
        if (serverBits < 0) return null
        break
      case 'client_max_window_bits': // §7.1.2.2: the value is optional
        if (value === true) clientBits = 16
        else {
          clientBits = windowBits(value)
          if (clientBits < 0) return null
        }
        break
      default:
        return null // §7: an unknown parameter declines the offer
    }
  }
  const parts = ['permessage-deflate']
  // §7.1.1.1: an offered server_no_context_takeover must be honoured; we may also add it.
  const sNoCtx = serverNoCtx || cfg.serverNoContextTakeover
  if (sNoCtx) parts.push('server_no_context_takeover')
  // §7.1.1.2: the server may ask the client not to take over context even when not offered.
  const cNoCtx = clientNoCtx || cfg.clientNoContextTakeover
  if (cNoCtx) parts.push('client_no_context_takeover')
  // §7.1.2.1: answer with a window no larger than offered; we may also limit ourselves.
  const sBits = Math.min(serverBits === 0 ? 15 : serverBits, cfg.serverMaxWindowBits)
  if (serverBits !== 0 || sBits < 15) parts.push(`server_max_window_bits=${sBits}`)
  // §7.1.2.2: only when offered may we name client_max_window_bits, no larger than the offer.
  let cBits = 15
  if (clientBits !== 0) {
    cBits = Math.min(clientBits === 16 ? 15 : clientBits, cfg.clientMaxWindowBits)
    if (cBits < 15 || clientBits !== 16) parts.push(`client_max_window_bits=${cBits}`)
  }
  return {
    serverNoContextTakeover: sNoCtx,
    clientNoContextTakeover: cNoCtx,
    serverMaxWindowBits: sBits,
    clientMaxWindowBits: cBits,
    header: parts.join('; '),
  }
}
