// The chat page: rooms with unread counts, messages shown pending until the server has them,
// typing indicators, members. Every room the user has open is subscribed, so unread counts stay
// live; only the active room is drawn.
import { demoClient, rememberName } from '/showcase/demo-client.js'
import { connectionBanner, plainError, trackAction } from '/showcase/ui.js'

const $ = (id) => document.getElementById(id)
const NAME = /^[\p{L}\p{N} _.-]{1,24}$/u
const ROOM = /^[a-z0-9-]{1,40}$/
const HISTORY = 50
const TYPING_MS = 4000
const params = new URLSearchParams(location.search)
$('name').value = params.get('name') ?? rememberName() ?? ''
if (params.get('room')) $('room').value = params.get('room')

let client = null
let me = ''
let active = ''
const rooms = new Map() // id -> { id, title, items: [], pending: Map(nonce -> item), members, typing }

const lastRead = (id) => Number(localStorage.getItem(`switchboard.chat.read.${me}.${id}`) ?? 0)
const markRead = (room) => {
  const t = room.items.reduce((m, i) => Math.max(m, i.time ?? 0), lastRead(room.id))
  localStorage.setItem(`switchboard.chat.read.${me}.${room.id}`, String(t))
}
const unread = (room) => {
  if (room.id === active) return 0
  const since = lastRead(room.id)
  return room.items.filter((i) => i.user !== me && (i.time ?? 0) > since).length
}

// --- drawing ------------------------------------------------------------------------------
const clock = (t) =>
  t ? new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : ''
const render = (item) => {
  if (item.el) return item.el
  const li = document.createElement('li')
  item.el = li
  li.className = `msg${item.user === me ? ' mine' : ''}`
  const who = Object.assign(document.createElement('span'), {
    className: 'who',
    textContent: item.user,
  })
  const time = Object.assign(document.createElement('time'), { textContent: clock(item.time) })
  const text = Object.assign(document.createElement('span'), {
    className: 'text',
    textContent: item.text,
  })
  li.append(who, time, text)
  return li
}
const stamp = (item) => {
  if (item.el) item.el.querySelector('time').textContent = clock(item.time)
}
const drawLog = () => {
  const room = rooms.get(active)
  $('log').replaceChildren(...room.items.map(render), ...[...room.pending.values()].map(render))
  $('log').scrollTop = $('log').scrollHeight
}
const appendToLog = (item) => {
  const log = $('log')
  const stick = log.scrollHeight - log.scrollTop - log.clientHeight < 40
  const firstPending = [...rooms.get(active).pending.values()][0]?.el
  if (
    !rooms.get(active).pending.has(item.nonce) &&
    firstPending?.parentNode === log &&
    firstPending !== item.el
  )
    log.insertBefore(render(item), firstPending)
  else log.append(render(item))
  if (stick || item.user === me) log.scrollTop = log.scrollHeight
}
const drawRooms = () => {
  $('roomList').replaceChildren(
    ...[...rooms.values()].map((room) => {
      const b = Object.assign(document.createElement('button'), { type: 'button' })
      b.dataset.room = room.id
      b.setAttribute('aria-current', String(room.id === active))
      const n = unread(room)
      b.append(Object.assign(document.createElement('span'), { textContent: `# ${room.id}` }))
      if (n > 0)
        b.append(
          Object.assign(document.createElement('span'), {
            className: 'unread',
            textContent: String(n),
            title: `${n} unread`,
          }),
        )
      b.addEventListener('click', () => switchTo(room.id))
      const li = document.createElement('li')
      li.append(b)
      return li
    }),
  )
}
const drawMembers = () => {
  const names = [...new Set(rooms.get(active).members.values())].sort()
  $('members').replaceChildren(
    ...names.map((n) => Object.assign(document.createElement('li'), { textContent: n })),
  )
  $('count').textContent = String(names.length)
  $('people').dataset.count = String(names.length)
}
const drawTyping = () => {
  const now = Date.now()
  const room = rooms.get(active)
  const who = [...room.typing]
    .filter(([u, until]) => u !== me && until > now)
    .map(([u]) => u)
    .sort()
  $('typing').textContent =
    who.length === 0
      ? ''
      : who.length === 1
        ? `${who[0]} is typing…`
        : `${who.join(', ')} are typing…`
}

// --- rooms --------------------------------------------------------------------------------
const switchTo = (id) => {
  if (active) markRead(rooms.get(active))
  active = id
  const room = rooms.get(id)
  markRead(room)
  $('roomTitle').textContent = `# ${id}`
  const url = new URL(location.href)
  url.searchParams.set('room', id)
  history.replaceState(null, '', url)
  drawLog()
  drawRooms()
  drawMembers()
  drawTyping()
  $('text').focus()
}
const addRoom = (id, title = id) => {
  if (rooms.has(id)) return rooms.get(id)
  const room = { id, title, items: [], pending: new Map(), members: new Map(), typing: new Map() }
  rooms.set(id, room)
  const channel = `chat:${id}`
  /** A publication as a log item: the sender's own pending line when it is its echo. */
  const toItem = (pub) => {
    const user = pub.info?.user ?? 'server'
    const nonce = pub.data.nonce
    const mine = nonce !== undefined && user === me ? room.pending.get(nonce) : undefined
    if (mine) room.pending.delete(nonce)
    const item = mine ?? { room: id, user, text: pub.data.text }
    Object.assign(item, { time: pub.time, nonce })
    stamp(item)
    return item
  }
  // History first, then live, in order and once each: the SDK sees to it. A reset (the server
  // lost what this page holds) replaces the room's messages.
  client.subscribe(channel, {
    history: { limit: HISTORY },
    onPublication: (pub) => {
      const item = toItem(pub)
      room.items.push(item)
      if (room.items.length > HISTORY * 2) room.items.splice(0, room.items.length - HISTORY * 2)
      if (id === active) {
        appendToLog(item)
        markRead(room)
      } else drawRooms()
    },
    onReset: (r) => {
      room.items = r.publications.map(toItem)
      if (id === active) {
        drawLog()
        markRead(room)
      }
      drawRooms()
    },
    onJoin: (m) => {
      room.members.set(m.client, m.user)
      if (id === active) drawMembers()
    },
    onLeave: (m) => {
      room.members.delete(m.client)
      if (id === active) drawMembers()
    },
    onSubscribed: async () => {
      const pres = await client.presence(channel)
      room.members.clear()
      for (const m of pres.members ?? []) room.members.set(m.client, m.user)
      if (id === active) drawMembers()
    },
  })
  client.subscribe(`typing:${id}`, {
    onPublication: (pub) => {
      const user = pub.info?.user
      if (!user) return
      if (pub.data.typing) room.typing.set(user, Date.now() + TYPING_MS)
      else room.typing.delete(user)
      if (id === active) drawTyping()
    },
  })
  saveRooms()
  drawRooms()
  return room
}
const saveRooms = () =>
  localStorage.setItem('switchboard.chat.rooms', JSON.stringify([...rooms.keys()]))

// --- sending ------------------------------------------------------------------------------
let typingSent = 0
const typing = (on) => {
  if (client.state !== 'connected' || !active) return // a stale signal is worse than none
  if (on && Date.now() - typingSent < 2000) return
  typingSent = on ? Date.now() : 0
  client.publish(`typing:${active}`, { typing: on }, { key: me }).catch(() => {})
}
const send = (id, text) => {
  const room = rooms.get(id)
  const nonce = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`
  const item = { room: id, user: me, text, nonce }
  room.pending.set(nonce, item)
  if (id === active) appendToLog(item)
  else render(item)
  const publish = () => client.publish(`chat:${id}`, { text, nonce })
  // Offline, the SDK keeps the publish in its outbox and sends it once on reconnect.
  trackAction(item.el, publish(), { client, retry: publish })
}

// --- joining ------------------------------------------------------------------------------
$('joinForm').addEventListener('submit', async (e) => {
  e.preventDefault()
  const name = $('name').value.trim()
  const first = $('room').value.trim().toLowerCase()
  if (!NAME.test(name)) {
    $('joinError').textContent = 'A name is 1 to 24 letters, digits, spaces or _ . -'
    $('name').focus()
    return
  }
  if (!ROOM.test(first)) {
    $('joinError').textContent = 'A room name is 1 to 40 of a-z, 0-9 and -'
    $('room').focus()
    return
  }
  $('joinError').textContent = ''
  me = name
  rememberName(name)
  client = demoClient(name)
  window.__chat.client = client
  const banner = connectionBanner(client)
  client.on('state', (s) => {
    if (s.state === 'disconnected' && s.code >= 3500 && s.code < 4000) {
      // Refused at connect (a name the server does not take): back to the form, name kept.
      $('joinError').textContent = plainError(s.reason)
      banner.destroy()
      $('chat').hidden = true
      $('join').hidden = false
      $('name').focus()
      rooms.clear()
      client = null
    }
  })
  $('join').hidden = true
  $('chat').hidden = false
  const saved = JSON.parse(localStorage.getItem('switchboard.chat.rooms') ?? '[]')
  active = ''
  for (const id of new Set([
    'lobby',
    'help',
    'random',
    ...saved.filter((r) => ROOM.test(r)),
    first,
  ]))
    addRoom(id)
  switchTo(first)
  client.connect()
  client.rpc('chat.rooms').then(
    (list) => {
      for (const r of list) addRoom(r.id, r.title)
    },
    () => {},
  )
})
$('send').addEventListener('submit', (e) => {
  e.preventDefault()
  const text = $('text').value
  if (text.trim() === '') return
  $('text').value = ''
  typing(false)
  send(active, text)
})
$('text').addEventListener('input', () => typing($('text').value.trim() !== ''))
$('newRoom').addEventListener('submit', (e) => {
  e.preventDefault()
  const id = $('newRoomName').value.trim().toLowerCase()
  if (!ROOM.test(id)) {
    $('newRoomName').setCustomValidity('1 to 40 of a-z, 0-9 and -')
    $('newRoomName').reportValidity()
    return
  }
  $('newRoomName').value = ''
  addRoom(id)
  switchTo(id)
})
$('newRoomName').addEventListener('input', () => $('newRoomName').setCustomValidity(''))
setInterval(() => {
  if (active && rooms.get(active).typing.size > 0) drawTyping()
}, 1000)

// What tests read.
window.__chat = {
  client: null,
  get user() {
    return me
  },
  get active() {
    return active
  },
  messages: (id = active) =>
    (rooms.get(id)?.items ?? []).map((i) => ({ user: i.user, text: i.text })),
  unread: (id) => unread(rooms.get(id)),
  members: (id = active) => [...new Set(rooms.get(id)?.members.values() ?? [])].sort(),
  switchTo,
}
