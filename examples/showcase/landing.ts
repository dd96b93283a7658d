// The showcase's front door (`/`): what Switchboard is, the demos as cards, how to try them; and
// the developer page (`/dev`): every route this server offers. Both on the shared ui.css.

/** Describes one thing the showcase offers, for the developer page. */
export interface Offer {
  readonly method: string
  readonly path: string
}

/** A demo card on the landing page; shown only when the server has its route. */
interface Demo {
  readonly path: string
  readonly title: string
  readonly line: string
}

const DEMOS: readonly Demo[] = [
  {
    path: '/chat',
    title: 'Chat',
    line: 'Rooms with who is here, history for late joiners, and messages the server checks.',
  },
  {
    path: '/whiteboard',
    title: 'Whiteboard',
    line: 'Draw together with live cursors; the drawing survives a server restart.',
  },
  {
    path: '/poll',
    title: 'Live poll',
    line: 'One vote each, change your mind, and watch the tally move on every screen.',
  },
  {
    path: '/ticker',
    title: 'Stock ticker',
    line: 'Hundreds of prices, many times a second; a slow screen gets the latest, never a backlog.',
  },
  {
    path: '/game',
    title: 'Arena game',
    line: 'Move with the arrow keys at 20 server ticks a second and see everyone else move.',
  },
  {
    path: '/dashboard',
    title: 'Live metrics',
    line: "This server's own event-loop delay, memory and traffic, every second.",
  },
  {
    path: '/login',
    title: 'Sign in',
    line: 'A demo login: a JWT in an HttpOnly cookie guards pages, APIs and the live channels.',
  },
]

/** The docs the server shows read-only at `/docs/<name>` (see {@link DOC_FILES}). */
const DOCS: readonly (readonly [string, string, string])[] = [
  ['README.md', 'Getting started', 'install, a first app, running the showcase'],
  ['client.md', 'Client SDK', 'subscribe, publish, rpc, reconnects and fallbacks'],
  ['channels.md', 'Channels', 'namespaces, history, presence, slow consumers, brokers'],
  ['http.md', 'HTTP', 'routes, middleware, static files, CORS'],
  ['errors.md', 'Errors', 'every error code and what to do about it'],
  ['showcase.md', 'The showcase', 'how each demo is built, its measured delay, screenshots'],
]

/** Files `/docs/:name` may serve, by name, relative to the repository root. */
export const DOC_FILES: ReadonlyMap<string, string> = new Map(
  DOCS.map(([name]) => [name, name === 'README.md' ? name : `docs/${name}`]),
)

const DESCRIPTIONS: Record<string, string> = {
  '/': 'The landing page.',
  '/dev': 'This page.',
  '/health': 'Liveness probe as JSON: status, uptime, this node and its broker.',
  '/metrics': "This node's metrics in the Prometheus text format.",
  '/api/routes': 'Every route this server offers, as JSON.',
  '/docs/:name': 'The documentation, read-only as plain text (the names the landing page lists).',
  '/chat':
    'Chat rooms: a room switcher with unread counts, presence, typing indicators, history on join.',
  '/whiteboard':
    'Collaborative whiteboard behind a login: strokes and clear as publications, history for newcomers, live cursors conflated per user, private team boards.',
  '/login':
    'Sign in (a demo user list): a JWT in an HttpOnly cookie that also signs the channel connection in.',
  '/logout': 'Sign out: clears the session cookie (POST).',
  '/api/me': 'Who is signed in, as JSON (401 without a session).',
  '/api/boards': 'The whiteboards the signed-in user may open, as JSON (401 without a session).',
  '/poll': 'Live poll: votes through an rpc, one per user, the server publishes the tally.',
  '/dashboard': 'Live metrics of this node every second, with sparklines.',
  '/api/metrics': 'Which node this is and the channel its dashboard samples go on, as JSON.',
  '/ticker':
    'Stock ticker: a conflated channel per symbol; the page subscribes to the rows on screen.',
  '/api/ticker': "The ticker's listings with their current prices and the market run, as JSON.",
  '/game': 'Arena game: input by rpc, a 20 Hz authoritative tick, deltas on one channel.',
  '/api/game': "The game's channel and tick, as JSON.",
  '/switchboard':
    'The channel endpoint the client SDK connects to (WebSocket upgrade, SSE with ?channel=…, commands by POST). Not a page: a browser tab sends none of these, so it answers 400.',
  '/switchboard/ticket': 'Issues a short-lived stream ticket for EventSource (POST).',
  '/switchboard/client.js': 'The browser client SDK (ESM).',
  '/showcase/*': "The demo pages' shared files: ui.css, ui.js, demo-client.js.",
}

/** APIs that answer only a signed-in browser (401 otherwise): listed, not linked. */
const SIGNED_IN = new Set(['/api/me', '/api/boards'])

/** Paths that answer something useful when opened in a tab. */
function linkable(r: Offer): boolean {
  return (
    r.method === 'GET' &&
    !/[:*]/.test(r.path) &&
    r.path !== '/switchboard' &&
    !SIGNED_IN.has(r.path)
  )
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function page(title: string, heading: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/showcase/ui.css">
<style>
  .hero { margin-bottom: var(--ui-space-5); }
  .hero h1 { font-size: 2rem; }
  .tip { border-left: 4px solid var(--ui-accent); }
  .docs { columns: 2 16rem; padding-left: 1.1rem; }
  .docs li { break-inside: avoid; margin-bottom: var(--ui-space-1); }
  section + section { margin-top: var(--ui-space-5); }
  .ui-table code.path { white-space: nowrap; }
  @media (max-width: 560px) {
    .routes thead { display: none; }
    .routes td { display: block; border: 0; padding: var(--ui-space-1) var(--ui-space-3); }
    .routes tr { display: block; padding: var(--ui-space-2) 0; border-bottom: 1px solid var(--ui-line); }
    .routes code.path { white-space: normal; }
  }
</style>
</head>
<body>
<header class="ui-top"><a class="ui-brand" href="/">Switchboard</a>${heading}
<nav class="ui-nav" aria-label="Site"><a href="/">Demos</a><a href="/docs/README.md">Docs</a><a href="/dev">Developers</a></nav></header>
<main class="ui-page">
${body}
</main>
</body>
</html>`
}

/** The landing page: one sentence, the demos this server has as cards, how to try them, docs. */
export function landingPage(routes: readonly Offer[]): string {
  const have = new Set(routes.filter((r) => r.method === 'GET').map((r) => r.path))
  const cards = DEMOS.filter((d) => have.has(d.path))
    .map(
      (d) =>
        `<a class="ui-card ui-card-link" href="${d.path}"><h3>${escapeHtml(d.title)}</h3><p class="ui-muted">${escapeHtml(d.line)}</p></a>`,
    )
    .join('\n')
  const docs = DOCS.map(
    ([name, title, line]) =>
      `<li><a href="/docs/${name}">${escapeHtml(title)}</a> <span class="ui-muted">· ${escapeHtml(line)}</span></li>`,
  ).join('\n')
  return page(
    'Switchboard showcase',
    '',
    `<section class="hero">
<h1>Real-time apps on one Node.js server</h1>
<p class="ui-lead">Switchboard is a TypeScript framework that serves HTTP, WebSocket and Server-Sent Events from one server, with channels that keep every screen in step through reconnects and restarts.</p>
</section>
<section aria-labelledby="try">
<div class="ui-card tip">
<h2 id="try">Open a demo in two windows</h2>
<p>Put two browser windows side by side, or your phone next to your laptop, and open the same demo in both: what you do in one shows up in the other within milliseconds.</p>
<p class="ui-muted ui-small">Add <code>?transport=sse</code> to a demo's address to run it over Server-Sent Events, as on a network that blocks WebSocket. Stop the server and start it again: open pages say so, count down to the next try, and catch up.</p>
</div>
</section>
<section aria-labelledby="demos">
<h2 id="demos">Demos</h2>
<div class="ui-grid">
${cards}
</div>
</section>
<section aria-labelledby="docs">
<h2 id="docs">Documentation</h2>
<ul class="docs">
${docs}
</ul>
<p class="ui-muted ui-small">Building on it? The <a href="/dev">developer page</a> lists every route this server offers.</p>
</section>`,
  )
}

/** The landing and developer pages, the docs and the demos: listed first. */
const PAGES = new Set(['/', '/dev', '/docs/:name', ...DEMOS.map((d) => d.path)])

/** Pages first, then APIs and probes, then the channel endpoint and files. */
function group(r: Offer): number {
  if (r.path.startsWith('/switchboard') || r.path.startsWith('/showcase')) return 3
  return PAGES.has(r.path) ? 1 : 2
}

/** The developer page: every route this server offers, what it does, and links to the pages. */
export function devPage(routes: readonly Offer[]): string {
  // One row per path, its methods together, pages first.
  const byPath = new Map<string, { methods: string[]; first: number; r: Offer }>()
  routes.forEach((r, i) => {
    if (r.method === 'HEAD' || r.method === 'OPTIONS') return
    const row = byPath.get(r.path)
    if (row === undefined) byPath.set(r.path, { methods: [r.method], first: i, r })
    else if (!row.methods.includes(r.method)) row.methods.push(r.method)
  })
  const rows = [...byPath.entries()]
    .sort(([, a], [, b]) => group(a.r) - group(b.r) || a.first - b.first)
    .map(([path, { methods }]) => {
      const r = { method: methods.includes('GET') ? 'GET' : methods[0]!, path }
      const shown = linkable(r)
        ? `<a href="${escapeHtml(path)}">${escapeHtml(path)}</a>`
        : escapeHtml(path)
      return `<tr><td><code class="path">${shown}</code><br><span class="ui-badge">${escapeHtml(methods.join(' '))}</span></td><td>${escapeHtml(DESCRIPTIONS[path] ?? '')}</td></tr>`
    })
    .join('\n')
  return page(
    'Switchboard showcase: routes',
    '<span class="ui-top-title">Developers</span>',
    `<h1>What this server offers</h1>
<p class="ui-muted">Every route, pages first. The demos use only the public <code>switchboard</code> package; their source is in <code>examples/showcase/</code>. The channel endpoint <code>/switchboard</code> is for the client SDK, not for a browser tab.</p>
<div class="ui-table-wrap">
<table class="ui-table routes">
<thead><tr><th scope="col">Route</th><th scope="col">What it does</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</div>`,
  )
}
