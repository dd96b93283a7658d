// The arena game demo: players move around a shared arena collecting coins. The server is
// authoritative: input arrives by rpc, a 20 Hz tick moves everyone, and each tick that changed
// something publishes one delta on one channel. A page that joins, reconnects or sees a gap takes
// a snapshot (`game.join`) and applies the deltas after it. Built only on the public API.
import { type Switchboard, SwitchboardError } from 'switchboard'
import { DEFAULT_NODE } from './dashboard.ts'

/** Arena size in game units, and the players' and coins' radius. */
export const ARENA = { width: 960, height: 600, radius: 16 } as const
/** Units a player moves per tick (20 ticks/s: 240 units/s). */
const SPEED = 12
const COINS = 6
const MAX_PLAYERS = 40
/** A player whose last connection closed is kept this long, so a reconnect does not leave. */
const GRACE_MS = 3000

/** One player: `[name, x, y, score, seq, hue]`; `seq` is the last input the tick applied. */
export type PlayerRow = [string, number, number, number, number, number]
/** One coin: `[id, x, y]`. */
export type CoinRow = [number, number, number]

/** A tick's changes (players and coins as upserts, who left), applied on the state of tick `prev`
 * of server run `s`. */
export type Delta = Omit<Snapshot, 'arena'> & { readonly prev: number; readonly gone: string[] }

/** The whole state as of tick `tick` (`game.join`'s answer). */
export interface Snapshot {
  readonly s: string
  readonly tick: number
  readonly arena: typeof ARENA
  readonly players: PlayerRow[]
  readonly coins: CoinRow[]
}

type Player = { row: PlayerRow; dx: number; dy: number; changed: boolean; away: number }

/**
 * Declares the `game` namespace (server-only publishing, no history: a page catches up from a
 * snapshot), the rpcs `game.join()` → {@link Snapshot} and `game.input({ dx, dy, seq })` (each of
 * dx, dy in -1..1), the 20 Hz tick, and `/game`. The tick stops when the app closes.
 */
export function mountGame(app: Switchboard, options: { node?: string; tickMs?: number } = {}) {
  const node = options.node ?? DEFAULT_NODE
  const channel = node === DEFAULT_NODE ? 'game:arena' : `game:arena@${node}`
  const run = `${Date.now().toString(36)}-${process.pid.toString(36)}`
  const players = new Map<string, Player>()
  const coin = (id: number): CoinRow => [id, spot(ARENA.width), spot(ARENA.height)]
  let coins = Array.from({ length: COINS }, (_, i) => coin(i))
  let tick = 0
  let published = 0
  const gone: string[] = []
  const changedCoins = new Set<number>()

  const fail = (code: string, message: string, status: number) =>
    new SwitchboardError(code, message, { status })
  app.channels.namespace('game', { historySize: 0, slowConsumer: 'disconnect' })
  const snapshot = (): Snapshot => ({
    s: run,
    tick: published,
    arena: ARENA,
    players: [...players.values()].map((p) => [...p.row] as PlayerRow),
    coins,
  })
  app.channels.rpc('game.join', (_data, ctx) => {
    if (!players.has(ctx.user)) {
      if (players.size >= MAX_PLAYERS) throw fail('APP_ERR_GAME_FULL', 'the arena is full', 409)
      const hue = [...ctx.user].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 360, 7)
      const row: PlayerRow = [ctx.user, spot(ARENA.width), spot(ARENA.height), 0, 0, hue]
      players.set(ctx.user, { row, dx: 0, dy: 0, changed: true, away: 0 })
    }
    return snapshot()
  })
  app.channels.rpc('game.input', (data, ctx) => {
    const { dx, dy, seq } = (data ?? {}) as Record<string, unknown>
    const step = (v: unknown) => v === -1 || v === 0 || v === 1
    if (!step(dx) || !step(dy) || !Number.isSafeInteger(seq)) {
      throw fail('APP_ERR_GAME_BAD_INPUT', 'input is { dx, dy, seq }, dx and dy in -1..1', 400)
    }
    const p = players.get(ctx.user)
    if (p === undefined) throw fail('APP_ERR_GAME_NOT_JOINED', 'join the game first', 409)
    p.dx = dx as number
    p.dy = dy as number
    p.row[4] = seq as number
    p.changed = true
    return { ok: true }
  })

  const step = (): void => {
    tick++
    const now = Date.now()
    for (const [name, p] of players) {
      // A player leaves once none of their connections has been open for GRACE_MS.
      if (app.hub.sessionsOf(name).length > 0) p.away = 0
      else if (p.away === 0) p.away = now
      else if (now - p.away > GRACE_MS) {
        players.delete(name)
        gone.push(name)
        continue
      }
      if (p.dx === 0 && p.dy === 0) continue
      const scale = p.dx !== 0 && p.dy !== 0 ? Math.SQRT1_2 : 1
      const r = ARENA.radius
      p.row[1] = clamp(Math.round(p.row[1] + p.dx * SPEED * scale), r, ARENA.width - r)
      p.row[2] = clamp(Math.round(p.row[2] + p.dy * SPEED * scale), r, ARENA.height - r)
      p.changed = true
      coins = coins.map((c) => {
        if (Math.hypot(c[1] - p.row[1], c[2] - p.row[2]) > 2 * r) return c
        p.row[3]++
        changedCoins.add(c[0])
        return coin(c[0])
      })
    }
    const moved = [...players.values()].filter((p) => p.changed)
    if (moved.length === 0 && gone.length === 0 && changedCoins.size === 0) return
    const delta: Delta = {
      s: run,
      tick,
      prev: published,
      players: moved.map((p) => [...p.row] as PlayerRow),
      gone: gone.splice(0),
      coins: coins.filter((c) => changedCoins.has(c[0])),
    }
    for (const p of moved) p.changed = false
    changedCoins.clear()
    published = tick
    app.hub.publish(channel, delta).catch((err: { code?: string }) => {
      if (err?.code !== 'SWB_ERR_HUB_CLOSED') app.log.warn({ err }, 'game: publish failed')
    })
  }
  const timer = setInterval(step, options.tickMs ?? 50)
  app.onClose(() => clearInterval(timer))
  app.get('/game', (ctx) => ctx.file(new URL('./public/game.html', import.meta.url).pathname))
  app.get('/api/game', () => ({ channel, tickMs: options.tickMs ?? 50 }))
}

const spot = (size: number) =>
  Math.round(ARENA.radius * 2 + Math.random() * (size - ARENA.radius * 4))
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v))
