// The whiteboard page: the signed-in user (the session cookie) draws on `board:<name>`. The
// subscription starts with the board's history and goes on live; a reset replaces the drawing.
// Lines are sent in chunks, drawn here at once and kept until their publication comes back.

import { RECONNECT_CEILING_MS } from '/showcase/demo-client.js'
import { connectionBanner, plainError } from '/showcase/ui.js'
import { SwitchboardClient } from '/switchboard/client.js'

// The server's schema (examples/showcase/whiteboard.ts) enforces the same limits.
const PALETTE = ['#1d232b', '#b3261e', '#1f6feb', '#1a7f37', '#bf8700', '#8250df', '#ffffff']
const MAX_POINTS = 64
const BOARD_HISTORY = 5000

const $ = (id) => document.getElementById(id)
const note = (text) => {
  $('note').textContent = text
}
const me = await fetch('/api/boards').then((r) => (r.status === 401 ? null : r.json()))
if (me === null)
  location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`)
$('meName').textContent = `Signed in as ${me.name}`

const canvas = $('canvas')
const view = canvas.getContext('2d')
const base = document.createElement('canvas') // every published stroke after the last clear
const baseCtx = base.getContext('2d')

let color = PALETTE[2]
const swatches = PALETTE.map((c) => {
  const b = Object.assign(document.createElement('button'), {
    type: 'button',
    className: 'swatch',
    title: c,
  })
  b.style.background = c
  b.setAttribute('aria-label', `colour ${c}`)
  b.setAttribute('aria-pressed', String(c === color))
  b.addEventListener('click', () => {
    color = c
    for (const s of swatches) s.setAttribute('aria-pressed', String(s === b))
  })
  return b
})
$('palette').append(...swatches)

// --- the drawing --------------------------------------------------------------------------
let strokes = [] // published strokes after the last clear, in order: { user, color, width, points, id }
const local = [] // chunks this page sent whose publication has not come back yet
let pending = null // the line being drawn: { color, width, points }

const size = () => {
  const dpr = window.devicePixelRatio || 1
  const w = Math.max(1, Math.round(canvas.clientWidth * dpr)),
    h = Math.max(1, Math.round(canvas.clientHeight * dpr))
  if (canvas.width === w && canvas.height === h) return false
  canvas.width = base.width = w
  canvas.height = base.height = h
  return true
}
const drawStroke = (ctx, s) => {
  const W = ctx.canvas.width,
    H = ctx.canvas.height
  ctx.strokeStyle = ctx.fillStyle = s.color
  ctx.lineWidth = Math.max(1, (s.width / 1000) * W)
  ctx.lineCap = ctx.lineJoin = 'round'
  const [x0, y0] = s.points[0]
  if (s.points.length === 1) {
    ctx.beginPath()
    ctx.arc(x0 * W, y0 * H, ctx.lineWidth / 2, 0, Math.PI * 2)
    ctx.fill()
    return
  }
  ctx.beginPath()
  ctx.moveTo(x0 * W, y0 * H)
  for (let i = 1; i < s.points.length; i++) ctx.lineTo(s.points[i][0] * W, s.points[i][1] * H)
  ctx.stroke()
}
const redrawBase = () => {
  baseCtx.clearRect(0, 0, base.width, base.height)
  for (const s of strokes) drawStroke(baseCtx, s)
}
let frame = 0
const render = () => {
  frame = 0
  if (size()) redrawBase()
  view.clearRect(0, 0, canvas.width, canvas.height)
  view.drawImage(base, 0, 0)
  for (const s of local) drawStroke(view, s)
  if (pending && pending.points.length > 0) drawStroke(view, pending)
}
const schedule = () => {
  // The stroke count on the stage, for tests and anyone inspecting the page.
  $('stage').dataset.strokes = String(strokes.length)
  if (frame === 0) frame = requestAnimationFrame(render)
}
new ResizeObserver(schedule).observe(canvas)

/** Drops the sent chunk a publication is the echo of. */
const echoed = (id) => {
  const i = id === undefined ? -1 : local.findIndex((l) => l.id === id)
  if (i >= 0) local.splice(i, 1)
}
const take = (pub) => {
  if (pub.data.type === 'clear') {
    strokes = []
    redrawBase()
  } else {
    const s = { user: pub.info?.user ?? 'server', ...pub.data }
    strokes.push(s)
    drawStroke(baseCtx, s)
    echoed(s.id)
  }
  schedule()
}
const replace = (publications) => {
  strokes = []
  for (const p of publications) {
    if (p.data.type === 'clear') strokes = []
    else {
      strokes.push({ user: p.info?.user ?? 'server', ...p.data })
      echoed(p.data.id)
    }
  }
  redrawBase()
  schedule()
}

// --- members and cursors ------------------------------------------------------------------
const members = new Map() // connection -> user
const cursors = new Map() // user -> element
const renderMembers = () => {
  const names = [...new Set(members.values())].sort()
  $('members').replaceChildren(
    ...names.map((n) => Object.assign(document.createElement('li'), { textContent: n })),
  )
  $('count').textContent = String(names.length)
  for (const [user, el] of cursors)
    if (!names.includes(user)) {
      el.remove()
      cursors.delete(user)
    }
}
const showCursor = (user, c) => {
  let el = cursors.get(user)
  if (c.out) {
    el?.remove()
    cursors.delete(user)
    return
  }
  if (!el) {
    el = Object.assign(document.createElement('div'), { className: 'cursor' })
    el.append(Object.assign(document.createElement('span'), { textContent: user }))
    $('cursors').append(el)
    cursors.set(user, el)
  }
  el.style.left = `${c.x * 100}%`
  el.style.top = `${c.y * 100}%`
  el.dataset.x = String(c.x)
  el.dataset.y = String(c.y)
}

// --- the connection: no token, the session cookie signs it in ------------------------------
const forced = new URLSearchParams(location.search).get('transport') === 'sse'
const client = new SwitchboardClient({
  url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/switchboard`,
  transport: forced ? 'sse' : 'auto',
  maxReconnectDelay: RECONNECT_CEILING_MS,
})
connectionBanner(client)
client.on('state', (s) => {
  if (s.state === 'disconnected' && s.code >= 3500 && s.code < 4000)
    location.assign('/login?next=/whiteboard')
})

let board = ''
const open = (name) => {
  if (board) {
    client.removeSubscription(`board:${board}`)
    client.removeSubscription(`cursor:${board}`)
  }
  board = name
  strokes = []
  local.length = 0
  members.clear()
  renderMembers()
  for (const el of cursors.values()) el.remove()
  cursors.clear()
  redrawBase()
  schedule()
  note('')
  for (const a of $('boards').querySelectorAll('a'))
    a.setAttribute('aria-current', String(a.dataset.board === name))
  const channel = `board:${name}`
  client.subscribe(channel, {
    history: { limit: BOARD_HISTORY },
    onPublication: take,
    onReset: (r) => replace(r.publications),
    onJoin: (m) => {
      members.set(m.client, m.user)
      renderMembers()
    },
    onLeave: (m) => {
      members.delete(m.client)
      renderMembers()
    },
    onSubscribed: async () => {
      window.__board.subscribed = true
      const pres = await client.presence(channel)
      members.clear()
      for (const m of pres.members ?? []) members.set(m.client, m.user)
      renderMembers()
    },
    onError: (err) => note(plainError(err)),
  })
  client.subscribe(`cursor:${name}`, {
    onPublication: (pub) => {
      if (pub.info?.user && pub.info.user !== me.name) showCursor(pub.info.user, pub.data)
    },
  })
}
$('boards').replaceChildren(
  ...me.boards.map((b) => {
    const a = Object.assign(document.createElement('a'), {
      href: `?board=${b}`,
      textContent: b,
    })
    if (b.startsWith('team-')) {
      const badge = Object.assign(document.createElement('span'), {
        className: 'ui-badge',
        textContent: 'private',
      })
      a.append(' ', badge)
    }
    a.dataset.board = b
    a.addEventListener('click', (e) => {
      e.preventDefault()
      const url = new URL(location.href)
      url.searchParams.set('board', b)
      history.pushState(null, '', url)
      open(b)
    })
    const li = document.createElement('li')
    li.append(a)
    return li
  }),
)
const wanted = new URLSearchParams(location.search).get('board') ?? 'main'
open(wanted)
client.connect()
window.addEventListener('popstate', () =>
  open(new URLSearchParams(location.search).get('board') ?? 'main'),
)

// --- drawing ------------------------------------------------------------------------------
const point = (e) => {
  const r = canvas.getBoundingClientRect()
  const clamp = (v) => Math.min(1, Math.max(0, v))
  return [clamp((e.clientX - r.left) / r.width), clamp((e.clientY - r.top) / r.height)]
}
let lastFlush = 0
let sent = 0
const flush = (final) => {
  if (!pending || pending.points.length === 0) return
  const chunk = {
    type: 'stroke',
    color: pending.color,
    width: pending.width,
    points: pending.points,
    id: `${Date.now().toString(36)}-${++sent}`,
  }
  // Not worth a publication: a chunk holding only the point carried over from the last one.
  if (chunk.points.length < 2 && (!final || pending.carried)) {
    if (final) pending = null
    return
  }
  local.push(chunk)
  const on = board
  client.publish(`board:${board}`, chunk).catch((err) => {
    const i = local.indexOf(chunk)
    if (i >= 0) local.splice(i, 1)
    schedule()
    if (on === board) note(`Not drawn: ${plainError(err)}`)
  })
  // The next chunk starts where this one ended, so the line has no break.
  pending = final ? null : { ...pending, points: [chunk.points.at(-1)], carried: true }
  lastFlush = performance.now()
}
canvas.addEventListener('pointerdown', (e) => {
  try {
    canvas.setPointerCapture(e.pointerId)
  } catch {} // a synthetic pointer has none to capture
  note('')
  pending = { color, width: Number($('width').value), points: [point(e)] }
  lastFlush = performance.now()
  schedule()
})
canvas.addEventListener('pointermove', (e) => {
  sendCursor(e)
  if (!pending) return
  const p = point(e),
    q = pending.points.at(-1)
  if (Math.abs(p[0] - q[0]) + Math.abs(p[1] - q[1]) < 0.002) return
  pending.points.push(p)
  if (pending.points.length >= MAX_POINTS || performance.now() - lastFlush > 120) flush(false)
  schedule()
})
const end = () => {
  flush(true)
  schedule()
}
canvas.addEventListener('pointerup', end)
canvas.addEventListener('pointercancel', end)
$('clear').addEventListener('click', () =>
  client
    .publish(`board:${board}`, { type: 'clear' })
    .catch((err) => note(`Not cleared: ${plainError(err)}`)),
)

// Cursors: at most one publish per 50 ms, keyed by user so a slow reader keeps only the latest;
// never queued while offline (a stale cursor is worse than none).
let lastCursor = 0,
  trailing = 0,
  lastPos = null
const sendCursorNow = () => {
  trailing = 0
  lastCursor = performance.now()
  if (client.state === 'connected' && lastPos)
    client.publish(`cursor:${board}`, lastPos, { key: me.name }).catch(() => {})
}
const sendCursor = (e) => {
  const [x, y] = point(e)
  lastPos = { x, y }
  const wait = 50 - (performance.now() - lastCursor)
  if (wait <= 0) sendCursorNow()
  else trailing ||= setTimeout(sendCursorNow, wait)
}
canvas.addEventListener('pointerleave', () => {
  clearTimeout(trailing)
  trailing = 0
  lastPos = null
  if (client.state === 'connected')
    client.publish(`cursor:${board}`, { out: true }, { key: me.name }).catch(() => {})
})

// What tests read.
window.__board = {
  client,
  user: me.name,
  subscribed: false,
  get board() {
    return board
  },
  get strokes() {
    return strokes.map((s) => ({ user: s.user, color: s.color, width: s.width, points: s.points }))
  },
  /** Chunks drawn here whose publication has not come back yet (0 when everything is echoed). */
  get sending() {
    return local.length + (pending ? 1 : 0)
  },
  get members() {
    return [...new Set(members.values())].sort()
  },
  get cursors() {
    return Object.fromEntries(
      [...cursors].map(([u, el]) => [u, { x: Number(el.dataset.x), y: Number(el.dataset.y) }]),
    )
  },
  open,
}
