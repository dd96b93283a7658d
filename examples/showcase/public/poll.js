// The poll page: the server owns the tally; this page subscribes to `poll:<id>` (its one-entry
// history is the current tally), asks `poll.get` for its own vote, and votes through `poll.vote`.
// Switching polls stays on the page: the name is asked once.
import { demoClient, rememberName } from '/showcase/demo-client.js'
import { connectionBanner, plainError, trackAction } from '/showcase/ui.js'

const $ = (id) => document.getElementById(id)
const NAME = /^[\p{L}\p{N} _.-]{1,24}$/u
/** How long a vote may wait for the server, an outage included. */
const VOTE_TIMEOUT_MS = 30_000
const params = new URLSearchParams(location.search)
$('name').value = params.get('name') ?? rememberName() ?? ''

let client = null
let pollId = params.get('id') || 'transport'
let definition = null
let tally = null
let myVote = null
let sub = null
const rows = new Map() // option id -> { row, button, fill, count }

const build = () => {
  $('question').textContent = definition.question
  rows.clear()
  $('options').replaceChildren(
    ...definition.options.map((o) => {
      const row = Object.assign(document.createElement('div'), { className: 'option' })
      const button = Object.assign(document.createElement('button'), {
        type: 'button',
        className: 'ui-btn',
        textContent: o.label,
      })
      button.dataset.option = o.id
      button.addEventListener('click', () => vote(o.id))
      const bar = Object.assign(document.createElement('div'), { className: 'bar' })
      const fill = document.createElement('div')
      bar.append(fill)
      const count = Object.assign(document.createElement('span'), {
        className: 'count',
        textContent: '0',
      })
      row.append(button, bar, count)
      rows.set(o.id, { row, button, fill, count })
      return row
    }),
  )
}
const render = () => {
  if (!definition) return
  for (const [id, r] of rows) {
    const n = tally?.counts[id] ?? 0
    r.count.textContent = String(n)
    r.fill.style.width = `${tally && tally.total > 0 ? (n / tally.total) * 100 : 0}%`
    r.button.setAttribute('aria-pressed', String(id === myVote))
  }
  const total = tally?.total ?? 0
  $('total').textContent =
    `${total} vote${total === 1 ? '' : 's'}${myVote ? ' · yours is highlighted' : ''}`
}
// Tallies come from publications and from rpc answers; the highest version wins. After a reset
// the server's word starts over (`tally = null` first).
const take = (t) => {
  if (t && t.poll === pollId && (!tally || t.version > tally.version)) {
    tally = t
    render()
  }
}
const showError = (err) => {
  $('error').textContent = err ? plainError(err) : ''
}

/** The poll's definition, the current tally and this user's vote, from the server. */
const refresh = async () => {
  const id = pollId
  try {
    const state = await client.rpc('poll.get', { poll: id })
    if (id !== pollId) return
    if (!definition || definition.id !== state.poll.id) {
      definition = state.poll
      build()
    }
    myVote = state.vote
    take(state.tally)
    render()
    window.__poll.ready = true
  } catch (err) {
    showError(err)
  }
}

const open = (id) => {
  if (sub) client.removeSubscription(sub.channel)
  pollId = id
  definition = null
  tally = null
  myVote = null
  window.__poll.ready = false
  $('question').textContent = '…'
  $('options').replaceChildren()
  showError(null)
  for (const b of $('polls').querySelectorAll('button'))
    b.setAttribute('aria-current', String(b.dataset.poll === id))
  sub = client.subscribe(`poll:${id}`, {
    history: { limit: 1 },
    onPublication: (pub) => take(pub.data),
    onReset: (r) => {
      tally = null
      take(r.publications.at(-1)?.data)
      refresh()
    },
    onSubscribed: refresh,
  })
}

/** Resolves once the client is connected. */
const connected = () =>
  new Promise((resolve) => {
    if (client.state === 'connected') return resolve()
    const off = client.on('state', (e) => {
      if (e.state === 'connected') {
        off()
        resolve()
      }
    })
  })
/** Votes, waiting out an outage. A vote is idempotent (voting the same option again changes
 * nothing), so when the answer is lost, late, or a refusal of the moment (the server is
 * restarting), it is simply sent again until it is answered or VOTE_TIMEOUT_MS have passed: the
 * page never says "not saved" about a vote that was. */
const cast = async (id, option) => {
  const deadline = Date.now() + VOTE_TIMEOUT_MS
  for (;;) {
    try {
      return await client.rpc(
        'poll.vote',
        { poll: id, option },
        { timeout: Math.max(1000, deadline - Date.now()) },
      )
    } catch (err) {
      const again =
        err.temporary || err.code === 'SWB_ERR_HUB_CLOSED' || err.code === 'SWB_ERR_SERVER_CLOSING'
      if (!again || Date.now() >= deadline) throw err
      await new Promise((resolve) => setTimeout(resolve, 250))
      await connected()
    }
  }
}
const vote = async (option) => {
  const id = pollId
  // An option this page does not show (only a test can ask for one) gets no row to mark.
  const res = await trackAction(
    rows.get(option)?.row ?? document.createElement('div'),
    cast(id, option),
    {
      client,
      pending: 'Saving your vote…',
      confirmed: 'Vote saved',
      failed: 'Vote not saved',
    },
  )
  if (id !== pollId) return res
  if (res.ok) {
    myVote = res.value.vote
    showError(null)
    take(res.value.tally)
    render()
  } else showError(res.error)
  return res.ok ? { ok: true } : { ok: false, code: res.error.code, message: res.message }
}

$('joinForm').addEventListener('submit', (e) => {
  e.preventDefault()
  const name = $('name').value.trim()
  if (!NAME.test(name)) {
    $('joinError').textContent = 'A name is 1 to 24 letters, digits, spaces or _ . -'
    $('name').focus()
    return
  }
  rememberName(name)
  $('me').textContent = name
  $('join').hidden = true
  $('poll').hidden = false
  client = demoClient(name)
  window.__poll.client = client
  window.__poll.user = name
  connectionBanner(client)
  client.on('state', (s) => {
    if (s.state === 'disconnected' && s.code >= 3500 && s.code < 4000) {
      $('joinError').textContent = plainError(s.reason)
      $('poll').hidden = true
      $('join').hidden = false
    }
  })
  open(pollId)
  client.connect()
  client.rpc('poll.list').then((list) => {
    $('polls').replaceChildren(
      ...list.map((p) => {
        const b = Object.assign(document.createElement('button'), {
          type: 'button',
          className: 'ui-btn ui-btn-small',
          textContent: p.question,
        })
        b.dataset.poll = p.id
        b.setAttribute('aria-current', String(p.id === pollId))
        b.addEventListener('click', () => {
          if (p.id === pollId) return
          const url = new URL(location.href)
          url.searchParams.set('id', p.id)
          history.pushState(null, '', url)
          open(p.id)
        })
        return b
      }),
    )
  }, showError)
})
window.addEventListener('popstate', () => {
  const id = new URLSearchParams(location.search).get('id') || 'transport'
  if (client && id !== pollId) open(id)
})

// What tests read.
window.__poll = {
  client: null,
  user: '',
  ready: false,
  get poll() {
    return pollId
  },
  get tally() {
    return tally
  },
  get myVote() {
    return myVote
  },
  get error() {
    return $('error').textContent
  },
  vote,
  open,
}
