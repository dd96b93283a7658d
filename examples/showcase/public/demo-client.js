// Shared by the showcase pages: a Switchboard client signed in with the demo's name-as-token
// (see demoAuth in chat.ts), its state shown in `statusEl`. `?transport=sse` forces SSE.
import { SwitchboardClient } from '/switchboard/client.js'

export function demoClient(name, statusEl) {
  const forced = new URLSearchParams(location.search).get('transport') === 'sse'
  const client = new SwitchboardClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/switchboard`,
    token: name,
    transport: forced ? 'sse' : 'auto',
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
    statusEl.textContent = `${s.state}${s.transport ? ` over ${s.transport}` : ''}`
  })
  return client
}
