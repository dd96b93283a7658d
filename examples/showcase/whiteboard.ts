// The collaborative whiteboard, behind the login of auth.ts: strokes and "clear" are publications
// on `board:<name>` (with history, so a newcomer and a restarted server show the drawing; the
// server holds no drawing of its own), live cursors go on `cursor:<name>`, conflated per user.
// A board named `team-<team>` is private to that team. Built only on the public API.
import type { NamespaceOptions, StandardSchemaV1, Switchboard } from 'switchboard'
import type { Session, SessionInfo, Sessions } from './auth.ts'

/** The colours a stroke may use: a small fixed palette keeps the board readable. */
export const PALETTE: readonly string[] =
  '#1d232b #b3261e #1f6feb #1a7f37 #bf8700 #8250df #ffffff'.split(' ')
/** Most points in one stroke publication; a longer line is sent as several chunks. */
export const MAX_POINTS = 64
/** Stroke width bounds, in thousandths of the board's width. */
export const MIN_WIDTH = 1
export const MAX_WIDTH = 24
/** Publications a board keeps, and a page reads when it opens (the app raises the server's
 * `maxHistoryLimit` to it): a line goes out every 120 ms or 64 points, so about ten minutes of
 * continuous drawing; a clear counts too. */
export const BOARD_HISTORY = 5000
/** How long a board keeps a publication: a week, whatever the restarts in between. */
export const BOARD_TTL = 7 * 24 * 60 * 60 * 1000
/** The boards every signed-in user sees; `team-<team>` boards are added for team members. */
export const PUBLIC_BOARDS: readonly string[] = ['main', 'sketches']

/** A piece of a line: points are `[x, y]` in 0..1 of the board; `id` lets the drawer match it. */
export interface Stroke {
  readonly type: 'stroke'
  readonly color: string
  readonly width: number
  readonly points: readonly (readonly [number, number])[]
  readonly id?: string
}
/** Wipes the board for everyone; strokes before it are no longer drawn. */
export interface Clear {
  readonly type: 'clear'
}
export type BoardEvent = Stroke | Clear
/** A live cursor: a position on the board, or `{ out: true }` when the pointer left it. */
export type Cursor = { readonly x: number; readonly y: number } | { readonly out: true }

type ChannelContext = Parameters<NonNullable<NamespaceOptions['canSubscribe']>>[0]
type Result<T> = { readonly value: T } | { readonly issues: readonly { message: string }[] }
const fail = (message: string) => ({ issues: [{ message }] })
const unit = (v: unknown): v is number =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1
/** Rounds a normalised coordinate to 1/10 000: finer than any screen, and a bounded size. */
const round4 = (v: number) => Math.round(v * 10_000) / 10_000
const ID = /^[A-Za-z0-9_-]{1,40}$/

function validateBoard(value: unknown): Result<BoardEvent> {
  if (typeof value !== 'object' || value === null) return fail('a board event is an object')
  const v = value as Record<string, unknown>
  if (v.type === 'clear') return { value: { type: 'clear' } }
  if (v.type !== 'stroke') return fail('type must be "stroke" or "clear"')
  if (typeof v.color !== 'string' || !PALETTE.includes(v.color)) {
    return fail(`color must be one of ${PALETTE.join(' ')}`)
  }
  const w = v.width
  if (typeof w !== 'number' || !Number.isInteger(w) || w < MIN_WIDTH || w > MAX_WIDTH) {
    return fail(`width must be an integer from ${MIN_WIDTH} to ${MAX_WIDTH}`)
  }
  if (!Array.isArray(v.points) || v.points.length === 0 || v.points.length > MAX_POINTS) {
    return fail(`points must be an array of 1 to ${MAX_POINTS} [x, y] pairs`)
  }
  const points: [number, number][] = []
  for (const p of v.points) {
    if (!Array.isArray(p) || p.length !== 2 || !unit(p[0]) || !unit(p[1])) {
      return fail('each point is [x, y] with both between 0 and 1')
    }
    points.push([round4(p[0]), round4(p[1])])
  }
  const stroke = { type: 'stroke' as const, color: v.color, width: w, points }
  if (v.id === undefined) return { value: stroke }
  if (typeof v.id !== 'string' || !ID.test(v.id))
    return fail('id must be 1 to 40 of A-Z a-z 0-9 _ -')
  return { value: { ...stroke, id: v.id } }
}

function validateCursor(value: unknown): Result<Cursor> {
  if (typeof value !== 'object' || value === null) return fail('a cursor is an object')
  const v = value as Record<string, unknown>
  if (v.out === true) return { value: { out: true } }
  if (!unit(v.x) || !unit(v.y))
    return fail('a cursor is { x, y } between 0 and 1, or { out: true }')
  return { value: { x: round4(v.x), y: round4(v.y) } }
}

/** The schema of `board:<name>`: a stroke (palette colour, bounded width, 1 to 64 points in
 * 0..1, an optional id) or a clear; extra fields are dropped, coordinates rounded. */
export const boardEvent: StandardSchemaV1<unknown, BoardEvent> = {
  '~standard': { version: 1, vendor: 'switchboard-showcase', validate: validateBoard },
}
/** The schema of `cursor:<name>`: `{ x, y }` in 0..1, or `{ out: true }`. */
export const cursorPosition: StandardSchemaV1<unknown, Cursor> = {
  '~standard': { version: 1, vendor: 'switchboard-showcase', validate: validateCursor },
}

/** The boards `teams` may open. */
export const boardsFor = (teams: readonly string[]): string[] => [
  ...PUBLIC_BOARDS,
  ...teams.map((t) => `team-${t}`),
]

/** Whether a connection may use a board (or its cursors): signed in, and a member of the team
 * when the board is a team's. */
export function mayUseBoard({ channel, info }: ChannelContext): boolean {
  const session = info as Partial<SessionInfo> | undefined
  if (session?.signedIn !== true) return false
  const board = channel.slice(channel.indexOf(':') + 1)
  return !board.startsWith('team-') || (session.teams ?? []).includes(board.slice(5))
}

/** Declares the `board` and `cursor` namespaces and serves `/whiteboard` and `/api/boards`,
 * both for signed-in users only. Cursors are published with `{ key: <user> }`, so a slow
 * subscriber keeps only each user's latest position. */
export function mountWhiteboard(app: Switchboard, sessions: Sessions): void {
  app.channels.namespace('board', {
    historySize: BOARD_HISTORY,
    historyTtl: BOARD_TTL,
    presence: true,
    joinLeave: true,
    clientPublish: true,
    schema: boardEvent,
    canSubscribe: mayUseBoard,
    canPublish: mayUseBoard,
    slowConsumer: 'drop-oldest',
  })
  app.channels.namespace('cursor', {
    historySize: 0,
    clientPublish: true,
    schema: cursorPosition,
    canSubscribe: mayUseBoard,
    canPublish: mayUseBoard,
    slowConsumer: 'conflate',
    // A cursor resent after a reconnect is stale anyway: remember publish keys only briefly.
    idempotencyWindow: 5_000,
  })
  const page = new URL('./public/whiteboard.html', import.meta.url).pathname
  app.get('/whiteboard', { middleware: [sessions.required] }, (ctx) => ctx.file(page))
  app.get('/api/boards', { middleware: [sessions.required] }, (ctx) => {
    const { name, teams } = ctx.state.session as Session
    return { name, boards: boardsFor(teams) }
  })
}
