// Shared by the showcase pages: a Switchboard client signed in with the demo's name-as-token
// (see demoAuth in chat.ts), its state also written in `statusEl` when given (ui.js's
// connectionBanner is the banner people read). `?transport=sse` forces SSE.
import { SwitchboardClient } from '/switchboard/client.js'

/** The largest reconnect wait of every showcase page (the SDK's default is 20 s). */
export const RECONNECT_CEILING_MS = 4000

export function demoClient(name, statusEl) {
  const forced = new URLSearchParams(location.search).get('transport') === 'sse'
  const client = new SwitchboardClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/switchboard`,
    token: name,
    transport: forced ? 'sse' : 'auto',
    // A restart takes seconds: retry at least every 4 s, so a page is back soon after the server.
    maxReconnectDelay: RECONNECT_CEILING_MS,
    // EventSource cannot send headers: the SSE stream carries a short-lived ticket instead,
    // valid for the channels of that stream only.
    streamTicket: async (channels) => {
      const r = await fetch('/switchboard/ticket', {
        method: 'POST',
        headers: { authorization: `Bearer ${name}`, 'content-type': 'application/json' },
        body: JSON.stringify({ channels }),
      })
      return (await r.json()).ticket
    },
  })
  client.on('state', (s) => {
    if (statusEl) statusEl.textContent = `${s.state}${s.transport ? ` over ${s.transport}` : ''}`
  })
  return client
}

/** The name this browser last joined with (every demo shares it), or stores `name`. */
export function rememberName(name) {
  if (name === undefined) return localStorage.getItem('switchboard.name')
  localStorage.setItem('switchboard.name', name)
  return name
}
