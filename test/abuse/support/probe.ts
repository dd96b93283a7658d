// A well-behaved client in its own process, so an attack run by the test process cannot slow
// its measurements down: `echo` sends a small message every 20 ms on the WebSocket echo and
// times the round trip; `channel` subscribes to a channel and times each publication from the
// server's stamp to its arrival, counting offsets that never arrived and gap pushes.
// Usage: fork('test/abuse/support/probe.ts', [port, 'echo' | 'channel', channel?], { execArgv: ['--import', 'tsx'] })
import WebSocket from 'ws'
import type { FromProbe, ProbeReport, ToProbe } from './types.ts'

const [portArg, mode = 'echo', channel = 'feed:live'] = process.argv.slice(2)
const port = Number(portArg)
const send = (m: FromProbe) => process.send?.(m)
const nowMs = () => performance.timeOrigin + performance.now()

let samples: number[] = []
let measuring = false
let broken: string | null = null
let lost = 0
let gaps = 0
let startedAt = 0

const ws = new WebSocket(`ws://127.0.0.1:${port}/${mode === 'echo' ? 'echo' : 'switchboard'}`)
ws.on('error', (err) => {
  broken ??= err.message
})
ws.on('close', (code) => {
  broken ??= `closed ${code}`
})

if (mode === 'echo') {
  let sentAt = 0
  ws.on('open', () => {
    send({ type: 'ready' })
    setInterval(() => {
      if (sentAt !== 0) return // one in flight at a time: a stall shows as one long round trip
      sentAt = nowMs()
      ws.send('probe')
    }, 20)
  })
  ws.on('message', () => {
    if (measuring) samples.push(nowMs() - sentAt)
    sentAt = 0
  })
} else {
  let last = -1
  ws.on('open', () => {
    ws.send(JSON.stringify({ id: 1, type: 'connect' }))
    ws.send(JSON.stringify({ id: 2, type: 'subscribe', channel }))
  })
  ws.on('message', (raw) => {
    const msg = JSON.parse(raw.toString())
    if (Array.isArray(msg)) {
      const offset = msg[1] as number
      if (last >= 0 && offset > last + 1 && measuring) lost += offset - last - 1
      last = offset
      if (measuring) samples.push(nowMs() - (msg[2] as { t: number }).t)
    } else if (msg.id === 2) {
      last = msg.result.offset
      send({ type: 'ready' })
    } else if (msg.type === 'gap') gaps++
  })
}

function percentile(a: number[], p: number): number {
  if (a.length === 0) return Number.NaN
  return a[Math.min(a.length - 1, Math.floor(a.length * p))]!
}

process.on('message', (m: ToProbe) => {
  if (m.type === 'start') {
    samples = []
    lost = 0
    gaps = 0
    broken = null
    startedAt = nowMs()
    measuring = true
    send({ type: 'started' })
  } else {
    measuring = false
    const s = samples.sort((a, b) => a - b)
    const report: ProbeReport = {
      count: s.length,
      ms: nowMs() - startedAt,
      p50: percentile(s, 0.5),
      p99: percentile(s, 0.99),
      max: s.at(-1) ?? Number.NaN,
      broken,
      lost,
      gaps,
    }
    send({ type: 'report', ...report })
  }
})
process.on('disconnect', () => process.exit(0))
