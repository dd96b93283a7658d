// Test support for the CORS tests: an app with CORS on a few routes, a preflight request, and
// the access-control headers of a response.
import { Switchboard } from '../../app.ts'
import { HttpError, SwitchboardError } from '../../errors/index.ts'
import { type CorsOptions, cors } from '../cors.ts'

export const APP = 'https://app.example'
export const EVIL = 'https://evil.example'

export function appWith(options: CorsOptions, runs?: string[]): Switchboard {
  const app = new Switchboard({ logger: false })
  app.use(cors(options))
  app.get('/data', (ctx) => {
    runs?.push(`GET ${ctx.headers.origin ?? '-'}`)
    return ctx.json({ ok: true })
  })
  app.post('/data', (ctx) => {
    runs?.push(`POST ${ctx.headers.origin ?? '-'}`)
    return ctx.json({ posted: true })
  })
  app.get('/only-get', (ctx) => ctx.json({ get: true }))
  app.get('/401', () => {
    throw new HttpError(401, 'Log in first', { code: 'SWB_ERR_AUTH_UNAUTHORIZED' })
  })
  app.get('/403', () => {
    throw new SwitchboardError('SWB_ERR_CHANNEL_FORBIDDEN')
  })
  app.get('/boom', () => {
    throw new Error('plain failure')
  })
  app.post('/upload', { bodyLimit: 4 }, async (ctx) => ctx.json(await ctx.readJson()))
  return app
}

export function preflight(
  app: Switchboard,
  path: string,
  origin: string,
  method = 'POST',
  requestHeaders?: string,
): Promise<Response> {
  const headers: Record<string, string> = {
    origin,
    'access-control-request-method': method,
  }
  if (requestHeaders !== undefined) headers['access-control-request-headers'] = requestHeaders
  return app.request(path, { method: 'OPTIONS', headers })
}

export function corsHeaders(res: Response): Record<string, string> {
  const out: Record<string, string> = {}
  res.headers.forEach((v, k) => {
    if (k.startsWith('access-control-')) out[k] = v
  })
  return out
}
