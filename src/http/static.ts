import type { Stats } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import { extname, join, resolve, sep } from 'node:path'
import { contentType } from 'mime-types'
import { HttpError, SwitchboardError } from '../errors/index.ts'
import type { Handler } from './compose.ts'
import type { Context } from './context.ts'

/** Options for `ctx.file()` and `serveStatic()`. */
export interface FileOptions {
  /** `Cache-Control: max-age` in seconds. Default 0 (revalidate with ETag). */
  readonly maxAge?: number
  /** Adds `immutable` to `Cache-Control` (for fingerprinted assets). Default false. */
  readonly immutable?: boolean
  /** Overrides the MIME type found from the extension. */
  readonly contentType?: string
}

/** Options for `serveStatic()`. */
export interface StaticOptions extends FileOptions {
  /** File served for a directory request. Default `'index.html'`; `false` for none. */
  readonly index?: string | false
  /** What to do with path segments starting with a dot: `'ignore'` (404, default) or `'allow'`. */
  readonly dotfiles?: 'ignore' | 'allow'
}

function weakEtag(st: Stats): string {
  return `W/"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`
}

function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true
  const bare = etag.slice(2) // weak comparison (RFC 9110 §13.1.2)
  for (const part of header.split(',')) {
    const t = part.trim()
    if (t === etag || t === bare || (t.startsWith('W/') && t.slice(2) === bare)) return true
  }
  return false
}

/** Parses a single `bytes=` range (RFC 9110 §14.1.2). Returns null to ignore the header, or 'unsatisfiable'. */
export function parseRange(
  header: string,
  size: number,
): { start: number; end: number } | null | 'unsatisfiable' {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!m) return null // multiple or malformed ranges: serve the whole file
  const [, a = '', b = ''] = m
  if (a === '' && b === '') return null
  let start: number
  let end: number
  if (a === '') {
    const suffix = Number(b)
    if (suffix === 0) return 'unsatisfiable'
    start = Math.max(0, size - suffix)
    end = size - 1
  } else {
    start = Number(a)
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1)
    if (b !== '' && Number(b) < start) return null
  }
  if (start >= size || size === 0) return 'unsatisfiable'
  return { start, end }
}

/** Sets status, headers and a file body on `ctx` for the file at `path`. */
export async function prepareFile(
  ctx: Context<unknown>,
  path: string,
  options?: FileOptions,
): Promise<void> {
  let st: Stats
  try {
    st = await stat(path)
  } catch {
    throw new SwitchboardError('SWB_ERR_NOT_FOUND')
  }
  if (!st.isFile()) throw new SwitchboardError('SWB_ERR_NOT_FOUND')
  applyFile(ctx, path, st, options)
}

function applyFile(ctx: Context<unknown>, path: string, st: Stats, options?: FileOptions): void {
  const etag = weakEtag(st)
  const lastModified = st.mtime.toUTCString()
  const maxAge = options?.maxAge ?? 0
  ctx.header('etag', etag)
  ctx.header('last-modified', lastModified)
  ctx.header('accept-ranges', 'bytes')
  ctx.header('cache-control', `public, max-age=${maxAge}${options?.immutable ? ', immutable' : ''}`)
  const headers = ctx.headers
  const inm = headers['if-none-match']
  const ims = headers['if-modified-since']
  const notModified =
    inm !== undefined
      ? etagMatches(inm, etag)
      : ims !== undefined && Math.floor(st.mtimeMs / 1000) <= Math.floor(Date.parse(ims) / 1000)
  if (notModified && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
    ctx.send(null, 304)
    return
  }
  const type = options?.contentType ?? (contentType(extname(path)) || 'application/octet-stream')
  ctx.header('content-type', type)
  let start = 0
  let end = st.size - 1
  let status = 200
  const rangeHeader = headers.range
  const ifRange = headers['if-range'] as string | undefined
  const rangeApplies =
    rangeHeader !== undefined &&
    (ifRange === undefined ||
      ifRange === etag ||
      (!ifRange.startsWith('"') && !ifRange.startsWith('W/') && ifRange === lastModified))
  if (rangeApplies) {
    const range = parseRange(rangeHeader, st.size)
    if (range === 'unsatisfiable') {
      ctx.header('content-range', `bytes */${st.size}`)
      throw new HttpError(416, 'Range Not Satisfiable', {
        code: 'SWB_ERR_RANGE_NOT_SATISFIABLE',
        headers: { 'content-range': `bytes */${st.size}` },
      })
    }
    if (range) {
      start = range.start
      end = range.end
      status = 206
      ctx.header('content-range', `bytes ${start}-${end}/${st.size}`)
    }
  }
  ctx.header('content-length', end - start + 1)
  ctx.statusCode = status
  ctx.body = st.size === 0 ? '' : { kind: 'file', path, start, end }
  ctx.finalized = true
}

/**
 * A handler that serves files below `root`. Mount it on a wildcard route; the wildcard part of
 * the path names the file. Traversal is refused: the path is decoded once, and any `..`
 * segment, backslash, NUL byte or (unless allowed) dot-file answers 404 or 400; the resolved
 * real path must stay inside the real root, so symlinks cannot lead out either.
 *
 * @example
 * app.get('/assets/*', serveStatic('./public', { maxAge: 3600 }))
 */
export function serveStatic(root: string, options: StaticOptions = {}): Handler {
  const absRoot = resolve(root)
  const index = options.index === undefined ? 'index.html' : options.index
  const allowDot = options.dotfiles === 'allow'
  let realRoot: Promise<string> | undefined
  return async function staticHandler(ctx: Context<unknown>) {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.header('allow', 'GET, HEAD')
      throw new SwitchboardError('SWB_ERR_METHOD_NOT_ALLOWED')
    }
    realRoot ??= realpath(absRoot).catch(() => absRoot)
    const rel = ctx.params['*'] ?? ctx.path
    const file = confine(absRoot, rel, allowDot)
    let target = file
    let st: Stats
    try {
      st = await stat(target)
      if (st.isDirectory()) {
        if (index === false) throw new SwitchboardError('SWB_ERR_NOT_FOUND')
        if (!ctx.path.endsWith('/')) {
          ctx.redirect(`${ctx.path}/`, 301)
          return
        }
        target = join(target, index)
        st = await stat(target)
      }
      const real = await realpath(target)
      const base = await realRoot
      if (real !== base && !real.startsWith(base + sep))
        throw new SwitchboardError('SWB_ERR_NOT_FOUND')
    } catch (err) {
      if (err instanceof SwitchboardError) throw err
      throw new SwitchboardError('SWB_ERR_NOT_FOUND')
    }
    if (!st.isFile()) throw new SwitchboardError('SWB_ERR_NOT_FOUND')
    applyFile(ctx, target, st, options)
  }
}

/**
 * Resolves a request path below `root`, or throws. The path may still be percent-encoded;
 * it is decoded exactly once, then checked segment by segment.
 */
export function confine(root: string, requested: string, allowDot = false): string {
  let decoded: string
  try {
    decoded = requested.includes('%') ? decodeURIComponent(requested) : requested
  } catch {
    throw new SwitchboardError('SWB_ERR_INVALID_URL')
  }
  if (decoded.includes('\0')) throw new SwitchboardError('SWB_ERR_INVALID_URL')
  if (decoded.includes('\\')) throw new SwitchboardError('SWB_ERR_NOT_FOUND')
  const segments = decoded.split('/')
  for (const s of segments) {
    if (s === '..' || s === '.') throw new SwitchboardError('SWB_ERR_NOT_FOUND')
    if (!allowDot && s.startsWith('.')) throw new SwitchboardError('SWB_ERR_NOT_FOUND')
  }
  const full = join(root, ...segments)
  if (full !== root && !full.startsWith(root + sep)) throw new SwitchboardError('SWB_ERR_NOT_FOUND')
  return full
}
