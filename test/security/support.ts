// Helpers of the security suite: a minimal app with a cookie login, and raw clients that send
// exactly the headers an attacker (or a browser on the attacker's page) would.
import { request as httpRequest } from 'node:http'
import WebSocket from 'ws'
import { type ConnectRequest, SwitchboardError } from '../../src/index.ts'
import {
  JSON_SUBPROTOCOL,
  readServerMessage,
  type ServerMessage,
} from '../../src/protocol/index.ts'

/** The session cookie of the logged-in user `alice`. */
export const ALICE_COOKIE = 'sid=alice-session'

/** A connect hook for a cookie login: a bearer token names its user, else the `sid` cookie does. */
export function cookieAuth(seen: ConnectRequest[] = []) {
  return (request: ConnectRequest) => {
    seen.push(request)
    if (request.token !== undefined) return { user: request.token }
    if (request.request?.cookies.sid === 'alice-session') return { user: 'alice' }
    throw new SwitchboardError('SWB_ERR_AUTH_UNAUTHORIZED', 'Log in first')
  }
}

/** The outcome of a WebSocket attempt: the refusal status, or the `connect` reply. */
export interface WsOutcome {
  status: number
  /** The HTTP body of a refused upgrade. */
  body: string
  /** The reply to `connect` when the upgrade succeeded. */
  reply?: ServerMessage
  messages: ServerMessage[]
  ws?: WebSocket
}

/** Opens a WebSocket with `headers`, sends `connect` (with `token` if given) and waits for the
 * reply, or for the refusal of the upgrade. */
export function wsAttempt(
  url: string,
  headers: Record<string, string>,
  connect: Record<string, unknown> = { id: 1, type: 'connect' },
): Promise<WsOutcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, JSON_SUBPROTOCOL, { headers })
    const messages: ServerMessage[] = []
    ws.on('unexpected-response', (_req, res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        body += c
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, messages }))
    })
    ws.on('error', (err) => {
      if (!String(err.message).includes('Unexpected server response')) reject(err)
    })
    ws.on('open', () => ws.send(JSON.stringify(connect)))
    ws.on('message', (data) => {
      const m = readServerMessage(JSON.parse(String(data)))
      if (m === undefined) return
      messages.push(m)
      if ((m as { id?: number }).id === connect.id) {
        resolve({ status: 101, body: '', reply: m, messages, ws })
      }
    })
    ws.on('close', () => resolve({ status: 101, body: '', messages }))
  })
}

/** An SSE request: its status, and the text received so far (the first chunk is awaited). */
export interface SseOutcome {
  status: number
  text: () => string
  close: () => void
}

/** Opens `url` as an event stream with `headers`; resolves at the first chunk of the body. */
export function sseAttempt(url: string, headers: Record<string, string>): Promise<SseOutcome> {
  return new Promise((resolve, reject) => {
    let text = ''
    const req = httpRequest(
      url,
      { headers: { accept: 'text/event-stream', ...headers } },
      (res) => {
        res.setEncoding('utf8')
        let first = true
        res.on('data', (c: string) => {
          text += c
          if (first) {
            first = false
            resolve({ status: res.statusCode ?? 0, text: () => text, close: () => req.destroy() })
          }
        })
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: () => text, close: () => req.destroy() }),
        )
      },
    )
    req.on('error', reject)
    req.end()
  })
}

/** POSTs a JSON command with `headers`; resolves with the status and the parsed body. */
export async function postCommand(
  url: string,
  command: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: { error?: { code: string }; result?: unknown } }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(command),
  })
  return { status: res.status, body: (await res.json()) as { error?: { code: string } } }
}

/** Page code (run with `page.evaluate`): a WebSocket to `target` that sends `connect` without a
 * token; resolves with `user:<id>`, `error:<code>`, or `closed:<code>`. */
export function wsScript(target: string): string {
  return `new Promise((resolve) => {
    const ws = new WebSocket(${JSON.stringify(target)}, 'switchboard.v1.json')
    ws.onopen = () => ws.send(JSON.stringify({ id: 1, type: 'connect' }))
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data)
      if (m.id === 1) { ws.close(); resolve(m.result ? 'user:' + m.result.user : 'error:' + m.error.code) }
    }
    ws.onclose = (e) => resolve('closed:' + e.code)
  })`
}

/** Page code: an EventSource with credentials to `target`; resolves with `user:<id>` once it
 * is connected, or `error`. */
export function sseScript(target: string): string {
  return `new Promise((resolve) => {
    const es = new EventSource(${JSON.stringify(target)}, { withCredentials: true })
    es.addEventListener('connected', (e) => { es.close(); resolve('user:' + JSON.parse(e.data).user) })
    es.onerror = () => { es.close(); resolve('error') }
  })`
}
