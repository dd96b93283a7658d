import type { Broker } from '../broker/index.ts'
import { SwitchboardError } from '../errors/index.ts'
import {
  type ClientCommand,
  checkCommand,
  type RefreshCommand,
  type RefreshResult,
  type Reply,
} from '../protocol/index.ts'
import type { AuthenticateRequest, HttpRequestInfo, Identity } from './auth.ts'
import type { Caller } from './commands.ts'
import type { SessionCommands } from './session-commands.ts'

/** What a stateless HTTP command needs of its hub. */
export interface HttpCommandEnv {
  readonly broker: Broker
  readonly ready: Promise<void>
  readonly commands: SessionCommands
  readonly authenticate: (request: AuthenticateRequest) => Promise<Identity>
  /** Seconds left of a credential expiring at `expiresAt` (0 = never: undefined). */
  readonly ttlOf: (expiresAt: number) => number | undefined
}

const HTTP_COMMANDS = new Set(['publish', 'rpc', 'presence', 'history', 'ping'])

/** See `Hub.httpCommand`. */
export async function runHttpCommand(
  env: HttpCommandEnv,
  body: unknown,
  credentials: {
    token?: string | undefined
    ticket?: string | undefined
    request?: HttpRequestInfo | undefined
  },
): Promise<{ status: number; body: Reply }> {
  const id = (body as { id?: unknown } | null)?.id
  const replyId = typeof id === 'number' ? id : 0
  try {
    let command: ClientCommand
    try {
      command = checkCommand(body)
    } catch (err) {
      throw new SwitchboardError('SWB_ERR_PROTOCOL_BAD_COMMAND', (err as Error).message)
    }
    if (command.type === 'refresh') {
      return { status: 200, body: { id: replyId, result: await refreshStream(env, command) } }
    }
    if (!HTTP_COMMANDS.has(command.type)) {
      throw new SwitchboardError(
        'SWB_ERR_PROTOCOL_BAD_COMMAND',
        `${command.type} is not available over HTTP`,
      )
    }
    const identity = await env.authenticate({
      token: credentials.token,
      ticket: credentials.ticket,
      ticketUse: { kind: 'commands' },
      transport: 'http',
      request: credentials.request,
    })
    const caller: Caller = {
      user: identity.user,
      client: '',
      info: identity.info,
      session: null,
      clientInfo: {
        user: identity.user,
        client: '',
        ...(identity.info === undefined ? null : { info: identity.info }),
      },
    }
    const result = await env.commands.runStateless(caller, command)
    return { status: 200, body: { id: replyId, result } }
  } catch (err) {
    const b = body as { type?: unknown; channel?: unknown } | null
    const error = env.commands.toReplyError(err, {
      channel: typeof b?.channel === 'string' ? b.channel : undefined,
      op: typeof b?.type === 'string' ? `http ${b.type}` : 'http',
    })
    const status = err instanceof SwitchboardError ? err.status : 500
    return { status, body: { id: replyId, error } }
  }
}

/** `refresh` over HTTP: authenticate the new token, then let the node holding the stream's
 * session extend it (the `refresh` control message). */
async function refreshStream(env: HttpCommandEnv, command: RefreshCommand): Promise<RefreshResult> {
  if (command.client === undefined) {
    throw new SwitchboardError(
      'SWB_ERR_PROTOCOL_BAD_COMMAND',
      'refresh over HTTP needs client (the stream session id)',
    )
  }
  const identity = await env.authenticate({ token: command.token, transport: 'http' })
  const expiresAt = identity.expiresAt ?? 0
  await env.ready
  await env.broker.publishControl({
    type: 'refresh',
    user: identity.user,
    client: command.client,
    expiresAt,
  })
  const ttl = env.ttlOf(expiresAt)
  return ttl === undefined ? {} : { ttl }
}
