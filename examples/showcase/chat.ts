// The chat demo: rooms on the `chat` namespace, with presence, join/leave, history on join and a
// schema every message must match. Built only on the public API.
import type { ConnectHook, StandardSchemaV1, Switchboard } from 'switchboard'
import { SwitchboardError } from 'switchboard'

/** A chat message as clients publish it. */
export interface ChatMessage {
  readonly text: string
}

/** A Standard Schema v1 validator written by hand, so the demo needs no schema library. */
export const chatMessage: StandardSchemaV1<unknown, ChatMessage> = {
  '~standard': {
    version: 1,
    vendor: 'switchboard-showcase',
    validate(value: unknown) {
      const text = (value as { text?: unknown } | null)?.text
      if (typeof value !== 'object' || value === null || typeof text !== 'string') {
        return { issues: [{ message: 'a message is { text: string }' }] }
      }
      const trimmed = text.trim()
      if (trimmed.length === 0 || trimmed.length > 500) {
        return { issues: [{ message: 'text must be 1 to 500 characters' }] }
      }
      return { value: { text: trimmed } }
    },
  },
}

/**
 * Demo-only sign-in: the token is the display name. A real app verifies a JWT (`jwtAuth`) or a
 * session cookie here instead.
 */
export const demoAuth: ConnectHook = ({ token }) => {
  const name = (token ?? '').trim()
  if (!/^[\p{L}\p{N} _.-]{1,24}$/u.test(name)) {
    throw new SwitchboardError(
      'SWB_ERR_AUTH_UNAUTHORIZED',
      'pick a name of 1 to 24 letters, digits, spaces, _ . -',
    )
  }
  return { user: name, info: { name } }
}

/** Declares the chat namespace and serves the chat page. */
export function mountChat(app: Switchboard): void {
  app.channels.namespace('chat', {
    historySize: 100,
    historyTtl: 60 * 60 * 1000,
    presence: true,
    joinLeave: true,
    clientPublish: true,
    schema: chatMessage,
    slowConsumer: 'drop-oldest',
  })
  app.get('/chat', (ctx) => ctx.file(new URL('./public/chat.html', import.meta.url).pathname))
}
