// The showcase's shared page script (/showcase/ui.js): one connection banner, one way to show an
// action pending → confirmed / failed, and error codes in plain words. Pair it with ui.css.
//
//   import { connectionBanner, trackAction, plainError } from '/showcase/ui.js'
//
//   connectionBanner(client, options?) → { element, state, destroy() }
//     Puts a role=status strip under the page's .ui-top header (or at the top of `options.parent`)
//     and drives it from the client's events: 'state', 'reconnecting' (its delay gives the
//     "Reconnecting in 3 s…" countdown), 'fallback' and 'upgrade'. It shows, in turn:
//       connecting   "Connecting…"                       (first load only)
//       reconnecting "Connection lost. Reconnecting in 3 s…" (live countdown, a Retry now button)
//       back-online  "Back online"                       (for `backOnlineMs`, default 2500)
//       sse          "Live over SSE because WebSocket is blocked" (or "…because the page asked
//                    for it" with ?transport=sse): stays while on SSE
//       stopped      "Disconnected: <reason in plain words>" with a Reload button
//       online       nothing (the strip is hidden)
//     element.dataset.state holds that name, for tests and CSS. Options: parent (Element),
//     forcedSse (default: ?transport=sse in the URL), backOnlineMs, words (extra plainError words).
//
//   trackAction(target, promise, options?) → Promise<{ ok: true, value } | { ok: false, error, message }>
//     Marks `target` (say, the chat line you just added) with data-action = 'queued' (client not
//     connected: "Waiting for the connection…"), 'pending' ("Sending…"), then 'confirmed' ("Sent",
//     the note fades after `keepNoteMs`, default 1500) or 'failed' ("Not sent: <plain reason>"),
//     in a .ui-action-note span it adds to `target`. It never throws. Options: client (to tell
//     queued from pending), pending, queued, confirmed, failed (the labels), words, retry
//     (a function returning a new promise: adds a "Try again" button on failure), keepNoteMs.
//
//   plainError(error, words?) → string
//     A sentence for a ClientError / reply error / `{ code, message }` / code string / close
//     reason "SWB_ERR_…: detail". SWB_ERR_* codes use ERROR_WORDS (plus the server's detail where
//     it is written for people, e.g. a schema issue); APP_ERR_* use the app's own message (apps
//     write those for people), else the code turned into words. `words` maps codes to strings or
//     to (message) => string and wins over both. Raw codes are never returned.
//
//   ERROR_WORDS: the SWB_ERR_* table plainError uses (read-only).

/** Plain words for the codes a page can meet. A function gets the server's message. */
export const ERROR_WORDS = Object.freeze({
  SWB_ERR_CLIENT_TIMEOUT: 'The server did not answer in time. Try again.',
  SWB_ERR_CLIENT_OUTBOX_FULL:
    'Too many actions are waiting for the connection. Wait until you are back online.',
  SWB_ERR_CLIENT_DISCONNECTED:
    'The connection dropped before the answer came, so it may or may not have gone through.',
  SWB_ERR_CLIENT_CLOSED: 'The connection is closed. Reload the page to reconnect.',
  SWB_ERR_CLIENT_TRANSPORT: 'The server could not be reached. Check your connection.',
  SWB_ERR_AUTH_UNAUTHORIZED: (m) =>
    detail('You are not signed in', m, 'The credential was refused'),
  SWB_ERR_AUTH_TOKEN_EXPIRED: 'Your sign-in expired. Sign in again.',
  SWB_ERR_CHANNEL_INVALID_NAME: 'That name cannot be used here: use letters, digits and dashes.',
  SWB_ERR_CHANNEL_UNKNOWN_NAMESPACE: 'This page asked for something the server does not offer.',
  SWB_ERR_CHANNEL_FORBIDDEN: 'You are not allowed to do that here.',
  SWB_ERR_CHANNEL_PUBLISH_DISABLED: 'This is read-only: only the server can post here.',
  SWB_ERR_CHANNEL_SCHEMA: (m) =>
    detail('That was not accepted', m, "The data does not match the channel's schema"),
  SWB_ERR_CHANNEL_TOO_MANY_SUBSCRIPTIONS: 'This page follows too many things at once.',
  SWB_ERR_CHANNEL_SLOW_CONSUMER: 'Your connection fell behind, so it was restarted.',
  SWB_ERR_CHANNEL_HISTORY_DISABLED: 'Earlier messages are not kept here.',
  SWB_ERR_CHANNEL_PRESENCE_DISABLED: 'Who is here is not shown for this channel.',
  SWB_ERR_PROTOCOL_TOO_MANY_REQUESTS: 'You are going too fast. Wait a moment and try again.',
  SWB_ERR_PROTOCOL_MESSAGE_TOO_LARGE: 'That is too large to send.',
  SWB_ERR_RPC_NOT_FOUND: 'The server does not offer that action.',
  SWB_ERR_RPC_FAILED: 'Something went wrong on the server. Try again.',
  SWB_ERR_HUB_INTERNAL: 'Something went wrong on the server. Try again.',
  SWB_ERR_INTERNAL: 'Something went wrong on the server. Try again.',
  SWB_ERR_HUB_CLOSED: 'The server is restarting. Try again in a moment.',
  SWB_ERR_SERVER_CLOSING: 'The server is restarting. Try again in a moment.',
  SWB_ERR_BROKER_UNAVAILABLE: 'The server cannot reach its message store. Try again in a moment.',
  SWB_ERR_BROKER_STORAGE: "The server's storage is full or failing, so nothing was saved.",
  SWB_ERR_BODY_TOO_LARGE: 'That is too large to send.',
  SWB_ERR_NOT_FOUND: 'That was not found.',
})

const GENERIC = 'Something went wrong. Try again.'

/** "Prefix: detail." when the server said more than its table's default, else "Prefix." */
function detail(prefix, message, fallback) {
  if (typeof message !== 'string' || message === '' || message === fallback) return `${prefix}.`
  return `${prefix}: ${sentence(message)}`
}

function sentence(text) {
  const t = String(text).trim()
  if (t === '') return t
  const s = t[0].toUpperCase() + t.slice(1)
  return /[.!?…]$/.test(s) ? s : `${s}.`
}

/** "APP_ERR_POLL_UNKNOWN_OPTION" → "Poll unknown option." */
function codeToWords(code) {
  return sentence(
    code
      .replace(/^(APP|SWB)_ERR_/, '')
      .toLowerCase()
      .replaceAll('_', ' '),
  )
}

const CODED = /^((?:SWB|APP)_ERR_[A-Z0-9_]+)(?::\s*(.*))?$/s

/** See the file's head comment. */
export function plainError(error, words = {}) {
  let code
  let message
  if (typeof error === 'string') {
    const m = CODED.exec(error.trim())
    if (m) [code, message] = [m[1], m[2]]
    else message = error
  } else if (error !== null && typeof error === 'object') {
    code = typeof error.code === 'string' ? error.code : undefined
    message = typeof error.message === 'string' ? error.message : undefined
    if (code === undefined && message !== undefined) {
      const m = CODED.exec(message.trim())
      if (m) [code, message] = [m[1], m[2]]
    }
  }
  const own = code === undefined ? undefined : (words[code] ?? ERROR_WORDS[code])
  if (typeof own === 'function') return own(message)
  if (typeof own === 'string') return own
  if (code?.startsWith('APP_ERR_')) {
    return message && !CODED.test(message) ? sentence(message) : codeToWords(code)
  }
  if (code?.startsWith('SWB_ERR_')) {
    // A code this table does not know yet: the server's message is English; never the code.
    return message && !/_ERR_/.test(message) ? sentence(message) : GENERIC
  }
  if (message && /failed to fetch|networkerror|load failed/i.test(message)) {
    return ERROR_WORDS.SWB_ERR_CLIENT_TRANSPORT
  }
  return message && !/_ERR_/.test(message) ? sentence(message) : GENERIC
}

// --- the connection banner -------------------------------------------------------------------

/** State codes of the client (see docs/client.md). */
const DISCONNECT_CALLED = 2
const UPGRADE = 6

/** See the file's head comment. */
export function connectionBanner(client, options = {}) {
  const forcedSse =
    options.forcedSse ?? new URLSearchParams(location.search).get('transport') === 'sse'
  const backOnlineMs = options.backOnlineMs ?? 2500
  const words = options.words ?? {}

  const element = document.createElement('div')
  element.className = 'ui-banner'
  element.setAttribute('role', 'status')
  element.setAttribute('aria-live', 'polite')
  element.hidden = true
  const text = document.createElement('span')
  text.className = 'ui-banner-text'
  const button = document.createElement('button')
  button.type = 'button'
  button.className = 'ui-btn'
  button.hidden = true
  element.append(text, button)
  const parent = options.parent
  const top = parent ? null : document.querySelector('.ui-top')
  if (top) top.after(element)
  else (parent ?? document.body).prepend(element)

  let everConnected = false
  let lost = false
  let fellBack = false
  let retrying = false
  let retryAt = 0
  let ticker
  let settleTimer

  const stopTicker = () => {
    clearInterval(ticker)
    ticker = undefined
  }
  const show = (state, tone, message, action) => {
    element.dataset.state = state
    element.className = `ui-banner ui-banner-${tone}`
    text.textContent = message
    button.hidden = action === undefined
    if (action !== undefined) {
      button.textContent = action.label
      button.onclick = action.run
    }
    element.hidden = false
  }
  const hide = (state) => {
    element.dataset.state = state
    element.hidden = true
  }
  const retryNow = {
    label: 'Retry now',
    run: () => {
      retrying = true
      client.disconnect()
      client.connect()
      retrying = false
    },
  }
  const countdown = () => {
    const left = Math.ceil((retryAt - Date.now()) / 1000)
    if (left <= 0) {
      stopTicker()
      show('reconnecting', 'warn', reconnectingText('Reconnecting…'), retryNow)
    } else {
      show('reconnecting', 'warn', reconnectingText(`Reconnecting in ${left} s…`), retryNow)
    }
  }
  const reconnectingText = (tail) =>
    everConnected ? `Connection lost. ${tail}` : `Cannot reach the server. ${tail}`
  /** What the strip says while connected and nothing happened lately. */
  const settle = () => {
    clearTimeout(settleTimer)
    if (client.state !== 'connected') return
    if (client.transport === 'sse') {
      show(
        'sse',
        'info',
        forcedSse
          ? 'Live over SSE because the page asked for it (?transport=sse).'
          : fellBack
            ? 'Live over SSE because WebSocket is blocked on this network.'
            : 'Live over SSE.',
      )
    } else hide('online')
  }

  const offState = client.on('state', (e) => {
    stopTicker()
    clearTimeout(settleTimer)
    if (e.state === 'connected') {
      const wasLost = lost
      everConnected = true
      lost = false
      if (wasLost) {
        show('back-online', 'ok', 'Back online.')
        settleTimer = setTimeout(settle, backOnlineMs)
      } else settle()
    } else if (e.state === 'connecting') {
      if (e.code === UPGRADE) {
        hide('upgrading') // a probe just proved WebSocket works: a quick switch, not an outage
      } else if (everConnected) {
        lost = true
        show('reconnecting', 'warn', reconnectingText('Reconnecting…'), retryNow)
      } else show('connecting', 'info', 'Connecting…')
    } else if (e.state === 'disconnected') {
      if (e.code === DISCONNECT_CALLED) {
        if (!retrying) hide('offline')
        return
      }
      show('stopped', 'error', `Disconnected: ${plainError(e.reason, words)}`, {
        label: 'Reload',
        run: () => location.reload(),
      })
    }
  })
  const offRetry = client.on('reconnecting', (e) => {
    if (everConnected) lost = true
    retryAt = Date.now() + e.delay
    stopTicker()
    countdown()
    ticker = setInterval(countdown, 250)
  })
  const offFallback = client.on('fallback', () => {
    fellBack = true
  })
  const offUpgrade = client.on('upgrade', () => {
    fellBack = false
  })

  if (client.state === 'connected') {
    everConnected = true
    settle()
  } else if (client.state === 'connecting') show('connecting', 'info', 'Connecting…')

  return {
    element,
    get state() {
      return element.dataset.state ?? 'idle'
    },
    destroy() {
      stopTicker()
      clearTimeout(settleTimer)
      offState()
      offRetry()
      offFallback()
      offUpgrade()
      element.remove()
    },
  }
}

// --- actions -----------------------------------------------------------------------------------

/** See the file's head comment. */
export async function trackAction(target, promise, options = {}) {
  const {
    client,
    pending = 'Sending…',
    queued = 'Waiting for the connection…',
    confirmed = 'Sent',
    failed = 'Not sent',
    words = {},
    retry,
    keepNoteMs = 1500,
  } = options
  let note = target.querySelector(':scope > .ui-action-note')
  if (note === null) {
    note = document.createElement('span')
    note.className = 'ui-action-note'
    note.setAttribute('aria-live', 'polite')
    target.append(note)
  }
  const token = {}
  target.__uiAction = token // a newer trackAction on the same target wins
  const mark = (state, label) => {
    if (target.__uiAction !== token) return
    target.dataset.action = state
    note.textContent = label
  }
  // Offline, the SDK keeps a publish in its outbox and sends it on reconnect: say so.
  const offline = () => client !== undefined && client.state !== 'connected'
  mark(offline() ? 'queued' : 'pending', offline() ? queued : pending)
  const offState =
    client?.on('state', () =>
      mark(offline() ? 'queued' : 'pending', offline() ? queued : pending),
    ) ?? (() => {})
  try {
    const value = await promise
    offState()
    mark('confirmed', confirmed)
    setTimeout(() => {
      if (target.__uiAction === token && target.dataset.action === 'confirmed') {
        note.textContent = ''
      }
    }, keepNoteMs)
    return { ok: true, value }
  } catch (error) {
    offState()
    const message = plainError(error, words)
    mark('failed', `${failed}: ${message}`)
    if (typeof retry === 'function' && target.__uiAction === token) {
      const again = document.createElement('button')
      again.type = 'button'
      again.className = 'ui-btn ui-btn-small'
      again.textContent = 'Try again'
      again.addEventListener('click', () => {
        again.remove()
        trackAction(target, retry(), options)
      })
      note.append(' ', again)
    }
    return { ok: false, error, message }
  }
}
