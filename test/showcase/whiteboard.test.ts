// The whiteboard's hand-written schemas: what a stroke, a clear and a cursor may be.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  type BoardEvent,
  boardEvent,
  type Cursor,
  cursorPosition,
  MAX_POINTS,
  MAX_WIDTH,
  PALETTE,
} from '../../examples/showcase/whiteboard.ts'

type Checked<T> = { value?: T; issues?: readonly { message: string }[] }
const board = (v: unknown) => boardEvent['~standard'].validate(v) as Checked<BoardEvent>
const cursor = (v: unknown) => cursorPosition['~standard'].validate(v) as Checked<Cursor>
const stroke = (over: Record<string, unknown>) => ({
  type: 'stroke',
  color: PALETTE[2],
  width: 4,
  points: [
    [0.1, 0.2],
    [0.3, 0.4],
  ],
  ...over,
})

function issue(result: unknown): string {
  const r = result as { issues?: readonly { message: string }[] }
  assert.ok(r.issues && r.issues.length > 0, 'expected issues')
  return r.issues[0]!.message
}

test('accepts a stroke and returns only its known fields, coordinates rounded to 1/10 000', () => {
  const r = board(
    stroke({
      extra: 'dropped',
      points: [
        [0.123456, 1],
        [0, 0.99999],
      ],
    }),
  )
  assert.deepEqual(r, {
    value: {
      type: 'stroke',
      color: PALETTE[2],
      width: 4,
      points: [
        [0.1235, 1],
        [0, 1],
      ],
    },
  })
})

test('accepts a single-point stroke (a dot) and exactly MAX_POINTS points', () => {
  assert.equal(board(stroke({ points: [[0.5, 0.5]] })).value?.type, 'stroke')
  const max = Array.from({ length: MAX_POINTS }, (_, i) => [i / MAX_POINTS, 0.5])
  const r = board(stroke({ points: max }))
  assert.ok(r.value?.type === 'stroke')
  assert.equal(r.value.points.length, MAX_POINTS)
})

test('accepts a clear and drops whatever else it carries', () => {
  assert.deepEqual(board({ type: 'clear', points: [[0, 0]] }), { value: { type: 'clear' } })
})

test('refuses what is not an object or has an unknown type', () => {
  assert.match(issue(board(null)), /object/)
  assert.match(issue(board('clear')), /object/)
  assert.match(issue(board({ type: 'erase' })), /type/)
  assert.match(issue(board({})), /type/)
})

test('refuses a colour outside the palette', () => {
  assert.match(issue(board(stroke({ color: '#123456' }))), /color/)
  assert.match(issue(board(stroke({ color: 'red' }))), /color/)
  assert.match(issue(board(stroke({ color: undefined }))), /color/)
})

test('refuses a width that is not an integer from 1 to MAX_WIDTH', () => {
  for (const width of [0, -1, MAX_WIDTH + 1, 2.5, Number.NaN, '4', null]) {
    assert.match(issue(board(stroke({ width }))), /width/, String(width))
  }
  assert.equal(board(stroke({ width: MAX_WIDTH })).value?.type, 'stroke')
})

test('refuses no points, too many points, and malformed or out-of-range points', () => {
  assert.match(issue(board(stroke({ points: [] }))), /points/)
  assert.match(issue(board(stroke({ points: 'x' }))), /points/)
  const tooMany = Array.from({ length: MAX_POINTS + 1 }, () => [0.5, 0.5])
  assert.match(issue(board(stroke({ points: tooMany }))), /points/)
  for (const p of [
    [1.01, 0],
    [0, -0.01],
    [0.5],
    [0.5, 0.5, 0.5],
    ['0.5', 0.5],
    [Number.NaN, 0],
    { x: 0, y: 0 },
    null,
  ]) {
    assert.match(issue(board(stroke({ points: [[0.1, 0.1], p] }))), /point/, JSON.stringify(p))
  }
  assert.match(issue(board(stroke({ points: [[Number.POSITIVE_INFINITY, 0]] }))), /point/)
})

test('accepts a cursor position in 0..1, rounded, and an out marker', () => {
  assert.deepEqual(cursor({ x: 0, y: 1 }), { value: { x: 0, y: 1 } })
  assert.deepEqual(cursor({ x: 0.333333, y: 0.5, user: 'spoofed' }), {
    value: { x: 0.3333, y: 0.5 },
  })
  assert.deepEqual(cursor({ out: true }), { value: { out: true } })
})

test('refuses a cursor off the board, missing a coordinate, or not an object', () => {
  for (const v of [
    { x: 1.5, y: 0 },
    { x: 0, y: -1 },
    { x: 0.5 },
    { x: '0.5', y: 0.5 },
    { out: 'yes' },
    null,
    7,
  ]) {
    issue(cursor(v))
  }
})
