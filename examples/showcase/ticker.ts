// The stock ticker demo: a market of a few hundred symbols whose prices move many times a second,
// one conflated channel per symbol, and a trade rpc that moves a price for everyone. Pages
// subscribe only to the rows on screen. Built only on the public API.
import { type Switchboard, SwitchboardError } from 'switchboard'
import { DEFAULT_NODE } from './dashboard.ts'

/** A price as published on `ticker:<SYMBOL>`: the latest price wins (conflation key: symbol). */
export interface Quote {
  /** Price in cents. */
  readonly p: number
  /** The market run this price belongs to: a restarted server opens a new one. */
  readonly s: string
  /** The last trade a user made on this symbol in this run, if any. */
  readonly t: Trade | null
}

/** A user's trade: it moves the price by {@link IMPACT} at once. */
export interface Trade {
  readonly id: number
  readonly by: string
  readonly side: 'buy' | 'sell'
}

/** Options of {@link mountTicker}. */
export interface TickerOptions {
  /** How many symbols the market lists. Default 300. */
  readonly symbols?: number
  /** Market tick in ms; each symbol moves on about 60% of ticks. Default 100 (about 6 moves/s). */
  readonly interval?: number
  /** The node, so that each node of a cluster runs its own market. Default `'server'`. */
  readonly node?: string
}

/** How much a trade moves the price: 0.5%. */
export const IMPACT = 0.005

interface Listing {
  readonly symbol: string
  readonly channel: string
  readonly open: number
  price: number
  trade: Trade | null
}

/** A small seeded generator: the same symbols and opening prices on every start. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function listings(count: number, prefix: string): Listing[] {
  const rand = seeded(42)
  const names = new Set<string>()
  while (names.size < count) {
    const length = 3 + Math.floor(rand() * 2)
    let name = ''
    for (let i = 0; i < length; i++) name += String.fromCharCode(65 + Math.floor(rand() * 26))
    names.add(name)
  }
  return [...names].sort().map((symbol) => {
    const open = Math.round(500 + rand() * 49_500) // $5 to $500, in cents
    return { symbol, channel: `${prefix}${symbol}`, open, price: open, trade: null }
  })
}

/**
 * Declares the `ticker` namespace (server-only publishing, no history, `slowConsumer:
 * 'conflate'`: a client that falls behind gets each symbol's latest price, never a backlog),
 * starts the market, and serves `/ticker`, `/api/ticker` (the listings with their current
 * prices) and the rpc `ticker.trade({ symbol, side })`. The market stops when the app closes.
 * Only watched symbols are published: a price nobody subscribes to changes in memory only.
 */
export function mountTicker(app: Switchboard, options: TickerOptions = {}): { stop(): void } {
  const interval = options.interval ?? 100
  const node = options.node ?? DEFAULT_NODE
  const prefix = node === DEFAULT_NODE ? 'ticker:' : `ticker:${node}/`
  const market = listings(options.symbols ?? 300, prefix)
  const bySymbol = new Map(market.map((l) => [l.symbol, l]))
  const session = `${Date.now().toString(36)}-${process.pid.toString(36)}`
  let trades = 0

  app.channels.namespace('ticker', {
    historySize: 0,
    clientPublish: false,
    slowConsumer: 'conflate',
  })
  const publish = (l: Listing): void => {
    const quote: Quote = { p: l.price, s: session, t: l.trade }
    app.hub.publish(l.channel, quote, { key: l.symbol }).catch(ignoreClosed)
  }
  const ignoreClosed = (err: unknown): void => {
    if ((err as { code?: unknown } | null)?.code !== 'SWB_ERR_HUB_CLOSED') {
      app.log.warn({ err }, 'ticker: publish failed')
    }
  }
  const tick = (): void => {
    for (const l of market) {
      if (Math.random() > 0.6) continue
      // A random walk of up to ±0.2% a move, pulled back gently toward the opening price.
      const drift = (l.open - l.price) / l.open / 50
      l.price = Math.max(1, Math.round(l.price * (1 + (Math.random() - 0.5) * 0.004 + drift)))
      if (app.hub.subscriberCount(l.channel) > 0) publish(l)
    }
  }
  const timer = setInterval(tick, interval)
  const stop = (): void => clearInterval(timer)
  app.onClose(stop)

  app.channels.rpc('ticker.trade', (data, ctx) => {
    const { symbol, side } = (data ?? {}) as { symbol?: unknown; side?: unknown }
    const l = typeof symbol === 'string' ? bySymbol.get(symbol) : undefined
    if (l === undefined || (side !== 'buy' && side !== 'sell')) {
      throw new SwitchboardError(
        'APP_ERR_TICKER_BAD_TRADE',
        'a trade names a listed symbol and a side, buy or sell',
        { status: 400 },
      )
    }
    l.price = Math.max(1, Math.round(l.price * (side === 'buy' ? 1 + IMPACT : 1 - IMPACT)))
    l.trade = { id: ++trades, by: ctx.user, side }
    publish(l)
    return { price: l.price, trade: l.trade }
  })
  app.get('/ticker', (ctx) => ctx.file(new URL('./public/ticker.html', import.meta.url).pathname))
  app.get('/api/ticker', () => ({
    prefix,
    session,
    symbols: market.map((l) => ({
      symbol: l.symbol,
      open: l.open,
      price: l.price,
      trade: l.trade,
    })),
  }))
  return { stop }
}
