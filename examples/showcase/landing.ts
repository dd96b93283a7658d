/** Describes one thing the showcase offers, for the landing page. */
export interface Offer {
  readonly method: string
  readonly path: string
}

const DESCRIPTIONS: Record<string, string> = {
  '/': 'This page.',
  '/health': 'Liveness probe as JSON: status, uptime, this node and its broker.',
  '/api/routes': 'Every route this server offers, as JSON.',
  '/chat':
    'Chat rooms on channels: presence, join/leave, history on join, schema-checked messages.',
  '/whiteboard':
    'Collaborative whiteboard: strokes and clear as publications, history for newcomers, live cursors conflated per user, presence.',
  '/poll':
    'Live poll: votes through an rpc, one per user (a revote moves it), the server publishes the tally.',
  '/dashboard':
    'Live metrics: this node publishes its event-loop delay, memory, connections and publications/s every second; sparklines.',
  '/api/metrics': 'Which node this is and the channel its dashboard samples go on, as JSON.',
  '/switchboard':
    'The channel endpoint: WebSocket upgrade, SSE stream (GET ?channel=…), commands (POST).',
  '/switchboard/ticket': 'Issues a short-lived stream ticket for EventSource.',
  '/switchboard/client.js': 'The browser client SDK (ESM).',
  '/showcase/*': "The demo pages' files, among them the client set-up they share (demo-client.js).",
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** The landing page: what Switchboard is and every route this server offers. */
export function landingPage(routes: readonly Offer[]): string {
  const rows = routes
    .filter((r) => r.method !== 'HEAD')
    .map((r) => {
      const link = r.method === 'GET' && !r.path.includes(':') && !r.path.includes('*')
      const path = link
        ? `<a href="${escapeHtml(r.path)}">${escapeHtml(r.path)}</a>`
        : escapeHtml(r.path)
      return `<tr><td><code>${escapeHtml(r.method)}</code></td><td>${path}</td><td>${escapeHtml(DESCRIPTIONS[r.path] ?? '')}</td></tr>`
    })
    .join('\n')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard showcase</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #1d232b; }
  h1 { margin-bottom: 0; } p.tag { margin-top: .25rem; color: #5a6572; }
  table { border-collapse: collapse; width: 100%; } td { padding: .35rem .6rem; border-bottom: 1px solid #e3e7eb; vertical-align: top; }
  code { font-size: .9em; }
</style>
</head>
<body>
<h1>Switchboard</h1>
<p class="tag">A real-time web framework for Node.js: HTTP, WebSocket and Server-Sent Events in one server.</p>
<h2>What this server offers</h2>
<table>
${rows}
</table>
</body>
</html>`
}
