// The showcase's authentication case study over HTTP: login, the session cookie, the middleware
// in front of the whiteboard and its API, and who may use which board.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { SignJWT } from 'jose'
import { createShowcase } from '../../examples/showcase/app.ts'
import { SESSION_COOKIE, Sessions } from '../../examples/showcase/auth.ts'
import { mayUseBoard } from '../../examples/showcase/whiteboard.ts'

const SECRET = 'a test secret of more than 16 bytes'
const app = createShowcase({ logger: false }, { sessionSecret: SECRET })
after(() => app.close())

const login = (body: unknown) =>
  app.request('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

/** The session cookie a login answer sets, as `name=value`. */
function sessionOf(res: Response): string {
  const set = res.headers.get('set-cookie') ?? ''
  const m = new RegExp(`${SESSION_COOKIE}=([^;]+)`).exec(set)
  assert.ok(m, `no session cookie in ${set}`)
  return `${SESSION_COOKIE}=${m[1]}`
}

test('a demo name and password get an HttpOnly, SameSite session cookie and where to go next', async () => {
  const res = await login({ name: ' Ada ', password: 'lovelace', next: '/whiteboard?board=main' })
  assert.equal(res.status, 200)
  assert.deepEqual(await res.json(), { name: 'ada', next: '/whiteboard?board=main' })
  const set = res.headers.get('set-cookie') ?? ''
  assert.match(set, /HttpOnly/i)
  assert.match(set, /SameSite=Lax/i)
  assert.match(set, /Path=\//)
  assert.match(set, /Max-Age=28800/)
})

test('a wrong password or an unknown name gets 401 in plain words and no cookie', async () => {
  for (const body of [
    { name: 'ada', password: 'hopper' },
    { name: 'nobody', password: 'lovelace' },
    { name: 'ada' },
    'not an object',
  ]) {
    const res = await login(body)
    assert.equal(res.status, 401, JSON.stringify(body))
    assert.equal(res.headers.get('set-cookie'), null)
    const { error } = (await res.json()) as { error: { code: string; message: string } }
    assert.equal(error.code, 'SWB_ERR_AUTH_UNAUTHORIZED')
    assert.equal(error.message, 'That name and password do not match a demo user')
  }
})

test('a login never sends the browser to another site', async () => {
  for (const next of ['//evil.example/x', 'https://evil.example', '/\\evil.example', 42]) {
    const res = await login({ name: 'ada', password: 'lovelace', next })
    assert.equal(((await res.json()) as { next: string }).next, '/whiteboard', String(next))
  }
})

test('without a session the whiteboard redirects to the login and its API answers 401; with one both answer', async () => {
  const page = await app.request('/whiteboard?board=main')
  assert.equal(page.status, 303)
  assert.equal(page.headers.get('location'), '/login?next=%2Fwhiteboard%3Fboard%3Dmain')
  const api = await app.request('/api/boards')
  assert.equal(api.status, 401)
  assert.equal(
    ((await api.json()) as { error: { code: string } }).error.code,
    'SWB_ERR_AUTH_UNAUTHORIZED',
  )

  const cookie = sessionOf(await login({ name: 'grace', password: 'hopper' }))
  const signedIn = await app.request('/whiteboard', { headers: { cookie } })
  assert.equal(signedIn.status, 200)
  assert.match(await signedIn.text(), /<title>Whiteboard/)
  const boards = await app.request('/api/boards', { headers: { cookie } })
  assert.deepEqual(await boards.json(), {
    name: 'grace',
    boards: ['main', 'sketches', 'team-design'],
  })
  const me = await app.request('/api/me', { headers: { cookie } })
  assert.deepEqual(await me.json(), { name: 'grace', teams: ['design'] })
})

test('a forged, expired or foreign token is no session; logout clears the cookie', async () => {
  const key = new TextEncoder().encode(SECRET)
  const forged = await new SignJWT({ teams: ['ops'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('linus')
    .setIssuer('switchboard-showcase')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode('another secret of enough length'))
  const expired = await new SignJWT({ teams: ['ops'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('linus')
    .setIssuer('switchboard-showcase')
    .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
    .sign(key)
  const foreign = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('linus')
    .setIssuer('someone-else')
    .setExpirationTime('1h')
    .sign(key)
  for (const token of [forged, expired, foreign, 'not-a-jwt']) {
    const res = await app.request('/api/boards', {
      headers: { cookie: `${SESSION_COOKIE}=${token}` },
    })
    assert.equal(res.status, 401)
  }
  const out = await app.request('/logout', { method: 'POST' })
  assert.equal(out.status, 303)
  assert.match(out.headers.get('set-cookie') ?? '', new RegExp(`${SESSION_COOKIE}=;.*Max-Age=0`))
})

test('a session secret shorter than 16 bytes is refused', () => {
  assert.throws(() => new Sessions('short'), { code: 'SWB_ERR_INVALID_OPTION' })
})

test('boards: signed-in users may use public boards, and a team board only its team', () => {
  const ada = { signedIn: true, name: 'ada', teams: ['design'] }
  const use = (channel: string, info: unknown) =>
    mayUseBoard({ channel, user: 'ada', client: 'c1', info })
  assert.equal(use('board:main', ada), true)
  assert.equal(use('cursor:sketches', ada), true)
  assert.equal(use('board:team-design', ada), true)
  assert.equal(use('cursor:team-design', ada), true)
  assert.equal(use('board:team-ops', ada), false)
  assert.equal(use('board:team-', ada), false)
  // A demo name (chat's token sign-in) is not a session: no board at all.
  assert.equal(use('board:main', { name: 'ada' }), false)
  assert.equal(use('board:main', undefined), false)
})
