/**
 * Group 13: permessage-deflate parameter negotiation (RFC 7692 §7.1). Every valid combination of
 * server/client_no_context_takeover and server/client_max_window_bits 8..15 must be accepted with
 * a response consistent with the offer, and messages must then flow compressed both ways under
 * exactly the negotiated window and context rules. Invalid offers are declined or refused (400).
 */

import { echo, f, m } from '../build.ts'
import type { Case } from '../case.ts'
import type { HttpHead } from '../client.ts'
import { corpus } from '../corpora.ts'
import { compressedFrames } from './deflate.ts'

type Offer = Map<string, string | null>

function parseOffer(text: string): Offer {
  const params: Offer = new Map()
  for (const part of text.split(';').slice(1)) {
    const [name, value] = part.split('=').map((s) => s.trim())
    params.set(name!, value === undefined ? null : value.replace(/^"|"$/g, ''))
  }
  return params
}

/** RFC 7692 §7.1: the response must fit one of the (valid) offers. */
function consistentWith(offers: string[]) {
  return (head: HttpHead): string | null => {
    const answer = head.get('sec-websocket-extensions')
    if (answer === undefined) return null
    const response = parseOffer(answer)
    const problems: string[] = []
    for (const text of offers) {
      const offer = parseOffer(text)
      const p: string[] = []
      if (offer.has('server_no_context_takeover') && !response.has('server_no_context_takeover'))
        p.push('server_no_context_takeover was offered but not answered')
      const sBits = offer.get('server_max_window_bits')
      if (sBits) {
        const r = response.get('server_max_window_bits')
        if (!r || Number(r) > Number(sBits))
          p.push(`server_max_window_bits=${sBits} was offered, answer ${r ?? 'missing'}`)
      }
      if (response.has('client_max_window_bits')) {
        if (!offer.has('client_max_window_bits'))
          p.push('client_max_window_bits answered but not offered')
        const cBits = offer.get('client_max_window_bits')
        const r = response.get('client_max_window_bits')
        if (cBits && r && Number(r) > Number(cBits))
          p.push(`client_max_window_bits=${r} exceeds the offered ${cBits}`)
      }
      if (p.length === 0) return null
      problems.push(...p)
    }
    return `extension response "${answer}" fits no offer: ${problems.join('; ')}`
  }
}

function paramCase(
  id: string,
  title: string,
  offer: string,
  required: boolean,
  status = [101],
): Case {
  const messages = [0, 1].map((v) => ({ data: corpus('phrases', 2000, v), text: true }))
  const base = echo(
    id,
    title,
    [],
    messages.map((x) => m.text(x.data)),
    {
      extensions: offer,
      expect: {
        status,
        deflate: required ? 'required' : 'either',
        head: [consistentWith(offer.split(',').map((s) => s.trim()))],
      },
    },
  )
  const offered = Number(parseOffer(offer.split(',')[0]!).get('client_max_window_bits') ?? 15)
  return {
    ...base,
    frames: async (neg) => {
      // Never compress with a larger window than the client itself offered.
      const params = neg && {
        ...neg,
        clientMaxWindowBits: Math.min(neg.clientMaxWindowBits, offered || 15),
      }
      return [...(await compressedFrames(params, messages)), f.close(1000)]
    },
  }
}

function invalidCase(id: string, title: string, offer: string): Case {
  const base = echo(id, title, [f.text('still plain')], [m.text('still plain')], {
    extensions: offer,
    expect: { status: [101, 400], deflate: 'refused' },
  })
  return base
}

export function deflateParamCases(): Case[] {
  const cases: Case[] = []
  const pmd = 'permessage-deflate'
  // The full matrix: both no_context_takeover flags × server_max_window_bits absent or 8..15 ×
  // client_max_window_bits absent, without a value, or 8..15 (2 × 2 × 9 × 10 = 360 offers).
  const valid: Array<[string, string]> = []
  const serverBits = [null, 8, 9, 10, 11, 12, 13, 14, 15]
  const clientBits: Array<number | 'bare' | null> = [null, 'bare', 8, 9, 10, 11, 12, 13, 14, 15]
  for (const snct of [false, true])
    for (const cnct of [false, true])
      for (const sb of serverBits)
        for (const cb of clientBits) {
          const params: string[] = []
          if (snct) params.push('server_no_context_takeover')
          if (cnct) params.push('client_no_context_takeover')
          if (sb !== null) params.push(`server_max_window_bits=${sb}`)
          if (cb === 'bare') params.push('client_max_window_bits')
          else if (cb !== null) params.push(`client_max_window_bits=${cb}`)
          valid.push([
            params.length === 0 ? 'no parameters' : params.join(', '),
            [pmd, ...params].join('; '),
          ])
        }
  valid.push(['a quoted server_max_window_bits value', `${pmd}; server_max_window_bits="10"`])
  valid.forEach(([name, offer], i) => {
    cases.push(
      paramCase(
        `13.1.${i + 1}`,
        `accepts an offer with ${name} and compresses both ways within it`,
        offer,
        true,
      ),
    )
  })
  // An invalid offer may be declined or refused as a whole with 400 (issue item 4).
  const fallback: Array<[string, string, number[]]> = [
    [
      'an invalid first offer followed by a valid one',
      `${pmd}; server_max_window_bits=7, ${pmd}`,
      [101, 400],
    ],
    ['two valid offers', `${pmd}; server_max_window_bits=10, ${pmd}`, [101]],
    ['an unknown extension before permessage-deflate', `x-unknown-extension, ${pmd}`, [101]],
  ]
  fallback.forEach(([name, offer, status], i) => {
    cases.push(
      paramCase(
        `13.2.${i + 1}`,
        `answers ${name} consistently with an acceptable offer`,
        offer,
        false,
        status,
      ),
    )
  })
  const invalid: Array<[string, string]> = [
    ['server_max_window_bits=7', `${pmd}; server_max_window_bits=7`],
    ['server_max_window_bits=16', `${pmd}; server_max_window_bits=16`],
    ['server_max_window_bits=0', `${pmd}; server_max_window_bits=0`],
    ['server_max_window_bits=abc', `${pmd}; server_max_window_bits=abc`],
    ['server_max_window_bits with a leading zero (08)', `${pmd}; server_max_window_bits=08`],
    ['server_max_window_bits without a value', `${pmd}; server_max_window_bits`],
    ['client_max_window_bits=7', `${pmd}; client_max_window_bits=7`],
    ['client_max_window_bits=16', `${pmd}; client_max_window_bits=16`],
    ['client_max_window_bits=abc', `${pmd}; client_max_window_bits=abc`],
    ['server_no_context_takeover with a value', `${pmd}; server_no_context_takeover=1`],
    ['client_no_context_takeover with a value', `${pmd}; client_no_context_takeover=yes`],
    [
      'a duplicated server_no_context_takeover',
      `${pmd}; server_no_context_takeover; server_no_context_takeover`,
    ],
    [
      'a duplicated server_max_window_bits',
      `${pmd}; server_max_window_bits=10; server_max_window_bits=11`,
    ],
    ['an unknown parameter', `${pmd}; x_unknown=1`],
  ]
  invalid.forEach(([name, offer], i) => {
    const c = invalidCase(
      `13.3.${i + 1}`,
      `declines or refuses an offer with ${name} and never crashes`,
      offer,
    )
    if (offer.endsWith('=08'))
      c.control = {
        why: 'ws-lenient',
        note: 'ws accepts a window size with a leading zero, which RFC 7692 §7.1.2.1 excludes',
        expect: { deflate: 'either' },
      }
    cases.push(c)
  })
  return cases
}
