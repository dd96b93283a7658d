/** Every conformance case group, in Autobahn order, with the handshake group last. */
import type { Case } from '../case.ts'
import { autoFragmentationCases } from './auto-fragmentation.ts'
import { closeCases } from './close.ts'
import { deflateCases } from './deflate.ts'
import { deflateParamCases } from './deflate-params.ts'
import { fragmentationCases } from './fragmentation.ts'
import { framingCases } from './framing.ts'
import { handshakeCases } from './handshake.ts'
import { largeCases } from './large.ts'
import { opcodeCases } from './opcodes.ts'
import { pingPongCases } from './ping-pong.ts'
import { reservedBitsCases } from './reserved-bits.ts'
import { utf8Cases } from './utf8.ts'

export const GROUP_NAMES: Record<string, string> = {
  '1': 'framing',
  '2': 'ping/pong',
  '3': 'reserved bits',
  '4': 'opcodes',
  '5': 'fragmentation',
  '6': 'UTF-8',
  '7': 'close',
  '9': 'large messages',
  '10': 'automatic fragmentation',
  '12': 'permessage-deflate corpora',
  '13': 'permessage-deflate parameters',
  H: 'handshake',
}

export function allCases(): Case[] {
  const cases = [
    ...framingCases(),
    ...pingPongCases(),
    ...reservedBitsCases(),
    ...opcodeCases(),
    ...fragmentationCases(),
    ...utf8Cases(),
    ...closeCases(),
    ...largeCases(),
    ...autoFragmentationCases(),
    ...deflateCases(),
    ...deflateParamCases(),
    ...handshakeCases(),
  ]
  const seen = new Set<string>()
  for (const c of cases) {
    if (seen.has(c.id)) throw new Error(`duplicate case id ${c.id}`)
    seen.add(c.id)
  }
  return cases
}
