// The collaborative whiteboard demo: strokes and "clear" are publications on `board:<name>` (with
// history, so a newcomer sees the drawing; the server holds no drawing of its own, so the
// broker's history is all a restart has to keep), live cursors go on `cursor:<name>` with the
// conflate policy keyed per user. Built only on the public API.
import type { StandardSchemaV1, Switchboard } from 'switchboard'

/** The colours a stroke may use: a small fixed palette keeps the board readable. */
export const PALETTE: readonly string[] = [
  '#1d232b',
  '#b3261e',
  '#1f6feb',
  '#1a7f37',
  '#bf8700',
  '#8250df',
  '#ffffff',
]

/** Most points in one stroke publication; a longer line is sent as several chunks. */
export const MAX_POINTS = 64
/** Stroke width bounds, in thousandths of the board's width. */
export const MIN_WIDTH = 1
export const MAX_WIDTH = 24
/**
 * Publications a board keeps, so a newcomer, a page that reloads and a restarted `npm start`
 * (its durable broker) show the drawing. A line goes out as a chunk every 120 ms or 64 points,
 * so this is about ten minutes of continuous drawing (a clear counts too, and frees nothing);
 * older strokes are gone for those pages (a page that stayed open keeps what it drew).
 */
export const BOARD_HISTORY = 5000
/** How long a board keeps a publication: a week, whatever the restarts in between. */
export const BOARD_TTL = 7 * 24 * 60 * 60 * 1000
/** Most publications a resubscribing page recovers in one reply; a page that missed more
 * reloads the board from history, page by page. */
export const BOARD_RECOVERY = 1000

/** A piece of a line: points are `[x, y]` normalised to 0..1 of the board. */
export interface Stroke {
  readonly type: 'stroke'
  readonly color: string
  readonly width: number
  readonly points: readonly (readonly [number, number])[]
}

/** Wipes the board for everyone; strokes before it are no longer drawn. */
export interface Clear {
  readonly type: 'clear'
}

/** What clients publish on `board:<name>`. */
export type BoardEvent = Stroke | Clear

/** A live cursor: a position on the board, or `{ out: true }` when the pointer left it. */
export type Cursor = { readonly x: number; readonly y: number } | { readonly out: true }

const PALETTE_SET = new Set(PALETTE)

/** What a Standard Schema `validate` returns. */
type Result<T> = { readonly value: T } | { readonly issues: readonly { message: string }[] }

function fail(message: string): { readonly issues: readonly { message: string }[] } {
  return { issues: [{ message }] }
}

function unit(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1
}

/** Rounds a normalised coordinate to 1/10 000: finer than any screen, and a bounded size. */
function round4(v: number): number {
  return Math.round(v * 10_000) / 10_000
}

function validateBoard(value: unknown): Result<BoardEvent> {
  if (typeof value !== 'object' || value === null) return fail('a board event is an object')
  const v = value as Record<string, unknown>
  if (v.type === 'clear') return { value: { type: 'clear' } }
  if (v.type !== 'stroke') return fail('type must be "stroke" or "clear"')
  if (typeof v.color !== 'string' || !PALETTE_SET.has(v.color)) {
    return fail(`color must be one of ${PALETTE.join(' ')}`)
  }
  const width = v.width
  if (
    typeof width !== 'number' ||
    !Number.isInteger(width) ||
    width < MIN_WIDTH ||
    width > MAX_WIDTH
  ) {
    return fail(`width must be an integer from ${MIN_WIDTH} to ${MAX_WIDTH}`)
  }
  const raw = v.points
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_POINTS) {
    return fail(`points must be an array of 1 to ${MAX_POINTS} [x, y] pairs`)
  }
  const points: [number, number][] = []
  for (const p of raw) {
    if (!Array.isArray(p) || p.length !== 2 || !unit(p[0]) || !unit(p[1])) {
      return fail('each point is [x, y] with both between 0 and 1')
    }
    points.push([round4(p[0]), round4(p[1])])
  }
  return { value: { type: 'stroke', color: v.color, width, points } }
}

function validateCursor(value: unknown): Result<Cursor> {
  if (typeof value !== 'object' || value === null) return fail('a cursor is an object')
  const v = value as Record<string, unknown>
  if (v.out === true) return { value: { out: true } }
  if (!unit(v.x) || !unit(v.y))
    return fail('a cursor is { x, y } between 0 and 1, or { out: true }')
  return { value: { x: round4(v.x), y: round4(v.y) } }
}

/**
 * The schema of `board:<name>`: a stroke (palette colour, bounded width, 1 to 64 points in 0..1)
 * or a clear. Extra fields are dropped and coordinates rounded, so a publication's size is bounded.
 *
 * @example
 * boardEvent['~standard'].validate({ type: 'stroke', color: '#1f6feb', width: 4, points: [[0.1, 0.2]] })
 */
export const boardEvent: StandardSchemaV1<unknown, BoardEvent> = {
  '~standard': { version: 1, vendor: 'switchboard-showcase', validate: validateBoard },
}

/**
 * The schema of `cursor:<name>`: `{ x, y }` in 0..1, or `{ out: true }`.
 *
 * @example
 * cursorPosition['~standard'].validate({ x: 0.5, y: 0.25 })
 */
export const cursorPosition: StandardSchemaV1<unknown, Cursor> = {
  '~standard': { version: 1, vendor: 'switchboard-showcase', validate: validateCursor },
}

/**
 * Declares the `board` and `cursor` namespaces and serves the whiteboard page at `/whiteboard`.
 * Clients publish cursors with `{ key: <their user> }`, so a slow subscriber keeps only the
 * latest position of each user instead of a backlog.
 *
 * @example
 * const app = new Switchboard()
 * app.channels.configure({ auth: demoAuth })
 * mountWhiteboard(app)
 */
export function mountWhiteboard(app: Switchboard): void {
  app.channels.namespace('board', {
    historySize: BOARD_HISTORY,
    historyTtl: BOARD_TTL,
    recoveryLimit: BOARD_RECOVERY,
    presence: true,
    joinLeave: true,
    clientPublish: true,
    schema: boardEvent,
    slowConsumer: 'drop-oldest',
  })
  app.channels.namespace('cursor', {
    historySize: 0,
    clientPublish: true,
    schema: cursorPosition,
    slowConsumer: 'conflate',
    // A cursor resent after a reconnect is stale anyway: remember publish keys only briefly.
    idempotencyWindow: 5_000,
  })
  app.get('/whiteboard', (ctx) =>
    ctx.file(new URL('./public/whiteboard.html', import.meta.url).pathname),
  )
}
