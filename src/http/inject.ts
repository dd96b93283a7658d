import type { IncomingMessage, ServerResponse } from 'node:http'
import inject from 'light-my-request'

/** `RequestInit` plus the peer address the in-process request appears to come from. */
export type InjectInit = RequestInit & { remoteAddress?: string }

/**
 * Runs one request through a node:http request listener in-process (light-my-request: no
 * socket) and resolves with a Web `Response`. A string input is the request target verbatim.
 */
export async function injectRequest(
  listener: (req: IncomingMessage, res: ServerResponse) => void,
  input: string | URL | Request,
  init?: InjectInit,
): Promise<Response> {
  let method = init?.method ?? 'GET'
  let url: string
  const headers: Record<string, string> = {}
  let payload: Buffer | undefined
  if (input instanceof Request) {
    const u = new URL(input.url)
    url = u.pathname + u.search
    method = input.method
    input.headers.forEach((v, k) => {
      headers[k] = v
    })
    if (input.body) payload = Buffer.from(await input.arrayBuffer())
  } else {
    url = input instanceof URL ? input.pathname + input.search : input
    new Headers(init?.headers).forEach((v, k) => {
      headers[k] = v
    })
    const body = init?.body
    if (body !== undefined && body !== null)
      payload = Buffer.from(await new Response(body).arrayBuffer())
  }
  const out = await inject(listener as never, {
    method: method as 'GET',
    url,
    headers,
    ...(payload !== undefined ? { payload } : {}),
    remoteAddress: init?.remoteAddress ?? '127.0.0.1',
  })
  const resHeaders = new Headers()
  for (const [k, v] of Object.entries(out.headers)) {
    if (v === undefined) continue
    if (Array.isArray(v)) for (const item of v) resHeaders.append(k, item)
    else resHeaders.set(k, String(v))
  }
  const noBody = out.statusCode === 204 || out.statusCode === 304 || method === 'HEAD'
  return new Response(noBody ? null : new Uint8Array(out.rawPayload), {
    status: out.statusCode,
    headers: resHeaders,
  })
}
