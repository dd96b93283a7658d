// A stand-in for the channels endpoints the lead will wire into the app: the real hub
// (src/hub) served over node:http, WebSocket through the `ws` package, SSE + POST through plain
// handlers. Used by the client's end-to-end tests (Node and headless Chromium).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import {
  Hub,
  type Session,
  SseTransport,
  SUBPROTOCOLS,
  WsTransport,
  wireFormatFor,
} from '../../src/hub/index.ts'

export interface Harness {
  hub: Hub
  server: Server
  url: string
  port: number
  /** Refuse WebSocket upgrades (as a proxy that does not pass them would). */
  refuseUpgrade: boolean
  /** Refuse this many more upgrades, then accept again (a server that was not up yet). */
  refuseUpgrades: number
  /** Upgrade requests seen, refused or not, and the times they arrived (`Date.now()`). */
  upgradeTimes: number[]
  /** TCP sockets of upgrade requests not yet closed (refused or open WebSockets). */
  upgradeSockets: number
  /** Cut the connection instead of writing the reply to the next publish. */
  cutNextPublishReply: boolean
  sessions: Set<Session>
  /** Disconnects every live session with 3003 (reconnect allowed). */
  kick(): Promise<void>
  close(): Promise<void>
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => {
      body += c
    })
    req.on('end', () => resolve(body))
    req.on('error', reject)
  })
}

const open = new Set<Harness>()

/** Closes every harness still open: for an `after` hook, so a failed test leaves no server. */
export async function closeAllHarnesses(): Promise<void> {
  await Promise.all([...open].map((h) => h.close()))
}

/** Serves the hub on 127.0.0.1 (`port` 0 = any); `extra` may answer other GET paths first. */
export async function startHarness(
  port = 0,
  hub = makeHub(),
  extra?: (req: IncomingMessage, res: ServerResponse) => boolean,
): Promise<Harness> {
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
  })
  const h: Harness = {
    hub,
    server: createServer(),
    url: '',
    port: 0,
    refuseUpgrade: false,
    refuseUpgrades: 0,
    upgradeTimes: [],
    upgradeSockets: 0,
    cutNextPublishReply: false,
    sessions: new Set(),
    async kick() {
      for (const s of [...h.sessions]) await hub.disconnect(s, 3003, 'test')
    },
    async close() {
      if (!open.delete(h)) return
      await hub.close()
      for (const ws of wss.clients) ws.terminate()
      wss.close()
      h.server.closeAllConnections()
      await new Promise((r) => h.server.close(r))
    },
  }
  h.server.on('request', async (req, res) => {
    if (extra?.(req, res)) return
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (url.pathname !== '/sb') return void res.writeHead(404).end()
    const bearer = req.headers.authorization?.replace(/^Bearer /, '')
    if (req.method === 'POST') {
      let body: unknown
      try {
        body = JSON.parse(await readBody(req))
      } catch {
        body = null
      }
      const r = await hub.httpCommand(body, { token: bearer })
      res.writeHead(r.status, { 'content-type': 'application/json' }).end(JSON.stringify(r.body))
      return
    }
    const header = req.headers['last-event-id']
    const lastEventId =
      (typeof header === 'string' ? header : undefined) ??
      url.searchParams.get('lastEventId') ??
      undefined
    const channels = url.searchParams.getAll('channel')
    try {
      const session = await hub.openStream(
        {
          channels,
          ...(lastEventId === undefined ? null : { lastEventId }),
          ...(bearer ? { token: bearer } : null),
        },
        () => {
          res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
          return new SseTransport(
            { write: (text) => res.write(text), close: () => res.end() },
            channels,
          )
        },
      )
      h.sessions.add(session)
      req.on('close', () => {
        h.sessions.delete(session)
        session.closed()
      })
    } catch (err) {
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({ error: { code: (err as { code?: string }).code, message: String(err) } }),
      )
    }
  })
  h.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    h.upgradeTimes.push(Date.now())
    h.upgradeSockets++
    socket.once('close', () => h.upgradeSockets--)
    if (h.refuseUpgrade || (h.refuseUpgrades > 0 && h.refuseUpgrades-- > 0)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const format = wireFormatFor(ws.protocol)!
      let cutId = -1
      const session = hub.connect(
        new WsTransport(
          {
            send(data, isBinary) {
              if (
                cutId >= 0 &&
                !isBinary &&
                Buffer.from(data).toString().startsWith(`{"id":${cutId},`)
              ) {
                cutId = -1
                ws.terminate()
                return 2
              }
              ws.send(data, { binary: isBinary === true })
              return 0
            },
            close: (code, reason) => ws.close(code, reason),
          },
          format,
        ),
      )
      h.sessions.add(session)
      ws.on('message', (data, isBinary) => {
        const text = isBinary ? null : data.toString()
        if (h.cutNextPublishReply && text?.includes('"type":"publish"')) {
          h.cutNextPublishReply = false
          cutId = (JSON.parse(text) as { id: number }).id
        }
        session.receive(text ?? (data as Buffer))
      })
      ws.on('close', () => {
        h.sessions.delete(session)
        session.closed()
      })
    })
  })
  await new Promise<void>((r) => h.server.listen(port, '127.0.0.1', r))
  h.port = (h.server.address() as AddressInfo).port
  h.url = `ws://127.0.0.1:${h.port}/sb`
  open.add(h)
  return h
}

export function makeHub(): Hub {
  return new Hub({
    namespaces: {
      chat: { historySize: 100, clientPublish: true },
      tiny: { historySize: 3, clientPublish: true },
    },
  })
}
