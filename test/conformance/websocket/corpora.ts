/**
 * Generated corpora for the permessage-deflate groups: text, JSON, Unicode, random and zero
 * bytes, all derived from a seeded generator so every run sends the same bytes.
 *
 * @example
 * const msg = corpus('json', 4096, 1)   // 4 KiB of JSON-like text, variant 1
 */
import { seededRandom } from './delivery.ts'

export const CORPORA = ['text', 'json', 'unicode', 'random', 'zeros', 'phrases'] as const
export type CorpusKind = (typeof CORPORA)[number]

const WORDS = [
  'channel',
  'presence',
  'socket',
  'frame',
  'deflate',
  'window',
  'history',
  'offset',
  'epoch',
  'publish',
  'subscribe',
  'the',
  'a',
  'of',
  'to',
  'message',
  'switchboard',
  'resume',
  'token',
  'close',
]
const UNICODE = [
  'κόσμε',
  'Grüße',
  '日本語',
  'русский',
  '🚀',
  'ελληνικά',
  'עברית',
  '中文字符',
  'ñandú',
  '𝄞',
]

/** Whether the corpus is sent as a text message. */
export const isText = (kind: CorpusKind) => kind !== 'random' && kind !== 'zeros'

/** Exactly `size` bytes of the given corpus (text corpora are cut on a code point boundary and padded). */
export function corpus(kind: CorpusKind, size: number, variant = 0): Buffer {
  const random = seededRandom(`${kind}/${size}/${variant}`)
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!
  if (kind === 'zeros') return Buffer.alloc(size)
  if (kind === 'random') {
    const b = Buffer.alloc(size)
    for (let i = 0; i < size; i++) b[i] = Math.floor(random() * 256)
    return b
  }
  const parts: string[] = []
  let length = 0
  // Phrases repeat at distances of hundreds to thousands of bytes: they expose a peer that
  // compresses with a larger window than it negotiated.
  const phrases = Array.from(
    { length: 24 },
    (_, i) => `${i}:${Array.from({ length: 6 }, () => pick(WORDS)).join('-')};`,
  )
  while (length < size) {
    let piece: string
    if (kind === 'text') piece = `${pick(WORDS)} `
    else if (kind === 'unicode') piece = `${pick(UNICODE)} `
    else if (kind === 'phrases') piece = pick(phrases)
    else
      piece = `{"id":${Math.floor(random() * 1e6)},"type":"${pick(WORDS)}","data":{"v":${random().toFixed(4)}}},`
    parts.push(piece)
    length += Buffer.byteLength(piece)
  }
  const bytes = Buffer.from(parts.join(''))
  let end = size
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--
  return Buffer.concat([bytes.subarray(0, end), Buffer.alloc(size - end, 0x20)])
}
