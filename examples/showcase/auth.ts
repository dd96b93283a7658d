// The authentication case study, in front of the whiteboard: a login form checks a name and
// password against a demo user list and answers with a session JWT (made with `jose`) in an
// HttpOnly cookie; HTTP middleware guards pages and APIs with it; the channel endpoint's connect
// hook reads the same cookie from the upgrade or stream request. Built only on the public API.
import { createHash, timingSafeEqual } from 'node:crypto'
import { jwtVerify, SignJWT } from 'jose'
import type { ConnectRequest, Context, Identity, Middleware, Switchboard } from 'switchboard'
import { HttpError, SwitchboardError } from 'switchboard'

/** A demo account: a board named `team-<team>` is private to the team's members. */
export type DemoUser = { readonly name: string; readonly password: string } & SessionUser

/** Who may sign in. Passwords in source are for a demo only: a real app stores hashes. */
export const DEMO_USERS: readonly DemoUser[] = [
  { name: 'ada', password: 'lovelace', teams: ['design'] },
  { name: 'grace', password: 'hopper', teams: ['design'] },
  { name: 'linus', password: 'torvalds', teams: ['ops'] },
]

/** The session cookie's name. */
export const SESSION_COOKIE = 'swb_session'
/** How long a sign-in lasts, in seconds. */
export const SESSION_SECONDS = 8 * 60 * 60
const ISSUER = 'switchboard-showcase'

type SessionUser = { readonly name: string; readonly teams: readonly string[] }
/** A signed-in user, as the session token says; `expiresAt` in ms since the Unix epoch. */
export type Session = SessionUser & { readonly expiresAt: number }
/** The connection info of a signed-in user (presence and publications carry it). */
export type SessionInfo = SessionUser & { readonly signedIn: true }

const digest = (s: string) => createHash('sha256').update(s).digest()

/** Issues and checks session tokens (HS256 JWTs) with one secret. */
export class Sessions {
  readonly #key: Uint8Array

  /** `secret`: 16 bytes or more, the same across restarts so sessions survive them. */
  constructor(secret: string) {
    if (Buffer.byteLength(secret) < 16) {
      throw new SwitchboardError('SWB_ERR_INVALID_OPTION', 'Sessions: the secret needs 16+ bytes')
    }
    this.#key = new TextEncoder().encode(secret)
  }

  /** The user whose name and password match, or null. Every password is compared. */
  check(name: unknown, password: unknown): DemoUser | null {
    if (typeof name !== 'string' || typeof password !== 'string') return null
    let found: DemoUser | null = null
    for (const u of DEMO_USERS) {
      if (
        timingSafeEqual(digest(u.password), digest(password)) &&
        u.name === name.trim().toLowerCase()
      )
        found = u
    }
    return found
  }

  issue(user: DemoUser): Promise<string> {
    return new SignJWT({ teams: user.teams })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.name)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(`${SESSION_SECONDS}s`)
      .sign(this.#key)
  }

  /** The session a token carries, or null when it is missing, forged or expired. */
  async verify(token: string | undefined): Promise<Session | null> {
    if (token === undefined || token === '') return null
    try {
      const { payload } = await jwtVerify(token, this.#key, {
        issuer: ISSUER,
        algorithms: ['HS256'],
      })
      const teams = Array.isArray(payload.teams) ? payload.teams.map(String) : []
      return { name: String(payload.sub), teams, expiresAt: (payload.exp ?? 0) * 1000 }
    } catch {
      return null
    }
  }

  /** The identity of a channel connection made with a session: the session token as its
   * bearer token (API clients), else the session cookie of its opening request (browsers). */
  async identify(request: ConnectRequest): Promise<Identity | null> {
    const session = await this.verify(request.token ?? request.request?.cookies[SESSION_COOKIE])
    if (session === null) return null
    const info: SessionInfo = { name: session.name, teams: session.teams, signedIn: true }
    return { user: session.name, info, expiresAt: session.expiresAt }
  }

  /** HTTP middleware: the session in `ctx.state.session`, or a redirect to the login page
   * (pages) or a 401 (anything under /api/). */
  readonly required: Middleware = async (ctx, next) => {
    const session = await this.verify(ctx.cookies[SESSION_COOKIE])
    if (session === null) {
      if (ctx.path.startsWith('/api/')) {
        throw new HttpError(401, 'Sign in first', { code: 'SWB_ERR_AUTH_UNAUTHORIZED' })
      }
      ctx.redirect(`/login?next=${encodeURIComponent(ctx.req.url ?? ctx.path)}`, 303)
      return
    }
    ctx.state.session = session
    await next()
  }
}

/** Where a login may send the browser next: a path on this site, never another origin. */
const safeNext = (next: unknown): string =>
  typeof next === 'string' && /^\/(?![/\\])/.test(next) ? next : '/whiteboard'

/** Serves `/login` (the page and the form's POST), `/logout` and `/api/me`. */
export function mountAuth(app: Switchboard, sessions: Sessions): void {
  const page = new URL('./public/login.html', import.meta.url).pathname
  app.get('/login', (ctx) => ctx.file(page))
  app.post('/login', async (ctx: Context) => {
    const body = (await ctx.readJson().catch(() => null)) as Record<string, unknown> | null
    const user = sessions.check(body?.name, body?.password)
    if (user === null) {
      throw new HttpError(401, 'That name and password do not match a demo user', {
        code: 'SWB_ERR_AUTH_UNAUTHORIZED',
      })
    }
    // Secure when the browser came over HTTPS (directly, or through a proxy that says so).
    const secure = 'encrypted' in ctx.req.socket || ctx.headers['x-forwarded-proto'] === 'https'
    ctx.setCookie(SESSION_COOKIE, await sessions.issue(user), {
      httpOnly: true,
      sameSite: 'lax',
      secure,
      maxAge: SESSION_SECONDS,
    })
    return { name: user.name, next: safeNext(body?.next) }
  })
  app.post('/logout', (ctx) => {
    ctx.setCookie(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'lax', maxAge: 0 })
    return ctx.redirect('/login', 303)
  })
  app.get('/api/me', { middleware: [sessions.required] }, (ctx) => {
    const { name, teams } = ctx.state.session as Session
    return { name, teams }
  })
}
