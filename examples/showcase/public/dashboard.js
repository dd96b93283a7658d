// The dashboard page: one subscription that starts with the last two minutes of samples (the
// channel's history) and goes on live; a reset replaces them. The SDK keeps them in order and
// without duplicates, so the page only appends.
import { demoClient } from '/showcase/demo-client.js'
import { connectionBanner } from '/showcase/ui.js'

const $ = (id) => document.getElementById(id)
// Which node served this page, and the channel its samples go on.
const { node, channel: CHANNEL } = await (await fetch('/api/metrics')).json()
$('node').textContent = `node ${node}`
$('channel').textContent = CHANNEL
const KEEP = 120
/** The page shows the samples of the last two minutes (before the newest one). */
const WINDOW_MS = 120_000
const mb = (v) => `${(v / 1048576).toFixed(1)} MB`
const METRICS = [
  ['loopDelayMeanMs', 'event-loop delay, mean', (v) => `${v.toFixed(2)} ms`],
  ['loopDelayP99Ms', 'event-loop delay, p99', (v) => `${v.toFixed(2)} ms`],
  ['rssBytes', 'resident memory (RSS)', mb],
  ['heapUsedBytes', 'V8 heap used', mb],
  ['connections', 'connections on this node', (v) => String(v)],
  ['publicationsPerSecond', 'publications / s (dashboard excluded)', (v) => v.toFixed(1)],
  ['deliveriesPerSecond', 'deliveries to subscribers / s', (v) => v.toFixed(1)],
]
const SVG = 'http://www.w3.org/2000/svg'
const cards = new Map()
for (const [field, label] of METRICS) {
  const card = Object.assign(document.createElement('section'), { className: 'ui-card card' })
  const value = Object.assign(document.createElement('div'), {
    className: 'value',
    textContent: '–',
  })
  const svg = document.createElementNS(SVG, 'svg')
  svg.setAttribute('viewBox', `0 0 ${KEEP - 1} 100`)
  svg.setAttribute('preserveAspectRatio', 'none')
  svg.setAttribute('aria-hidden', 'true')
  const line = document.createElementNS(SVG, 'polyline')
  svg.append(line)
  card.append(Object.assign(document.createElement('h2'), { textContent: label }), value, svg)
  $('cards').append(card)
  cards.set(field, { value, line })
}

let samples = []
let frame = 0
const render = () => {
  frame = 0
  const last = samples.at(-1)
  for (const [field, , fmt] of METRICS) {
    const { value, line } = cards.get(field)
    const ys = samples.map((s) => s[field])
    value.textContent = last ? fmt(last[field]) : '–'
    const max = Math.max(...ys, 0),
      min = Math.min(...ys, max)
    const span = max - min || 1
    const x0 = KEEP - ys.length
    line.setAttribute(
      'points',
      ys.map((y, i) => `${x0 + i},${(98 - ((y - min) / span) * 96).toFixed(1)}`).join(' '),
    )
  }
  $('cards').dataset.at = String(last?.at ?? '')
}
const draw = () => {
  if (frame === 0) frame = requestAnimationFrame(render)
}

// The dashboard only reads, but every connection signs in; a viewer gets a throwaway name.
const client = demoClient(`viewer-${Math.random().toString(36).slice(2, 8)}`)
connectionBanner(client)
window.__dash = {
  client,
  node,
  channel: CHANNEL,
  received: 0,
  get samples() {
    return samples
  },
}
client.subscribe(CHANNEL, {
  history: { limit: KEEP },
  onPublication: (pub) => {
    samples.push(pub.data)
    const from = samples.findIndex((s) => s.at > pub.data.at - WINDOW_MS)
    if (from > 0) samples.splice(0, from)
    window.__dash.received++
    draw()
  },
  onReset: (r) => {
    samples = r.publications.map((p) => p.data)
    draw()
  },
})
client.connect()
