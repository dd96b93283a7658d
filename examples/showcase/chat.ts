// The chat demo: rooms on the `chat` namespace (presence, join/leave, history, a schema every
// message must match, a time on each message for unread counts), and typing indicators on the
// conflated `typing` namespace. Built only on the public API.
import type { ConnectHook, StandardSchemaV1, Switchboard } from 'switchboard'
import { SwitchboardError } from 'switchboard'

/** A chat message as clients publish it: `nonce` lets the sender's page match its echo. */
export interface ChatMessage {
  readonly text: string
  readonly nonce?: string
}

/** A typing signal: published with the user as key, so a slow reader keeps only the latest. */
export interface Typing {
  readonly typing: boolean
}

/** The rooms every chat page lists; a user may open any other room by name. */
export const CHAT_ROOMS: readonly { readonly id: string; readonly title: string }[] = [
  { id: 'lobby', title: 'Lobby' },
  { id: 'help', title: 'Help' },
  { id: 'random', title: 'Random' },
]

/** What a display name may be (the chat page checks the same pattern before it connects). */
export const NAME = /^[\p{L}\p{N} _.-]{1,24}$/u
const NONCE = /^[A-Za-z0-9_-]{1,40}$/

type Issues = { readonly issues: readonly { message: string }[] }
const fail = (message: string): Issues => ({ issues: [{ message }] })

/** A Standard Schema v1 validator written by hand, so the demo needs no schema library. */
export const chatMessage: StandardSchemaV1<unknown, ChatMessage> = {
  '~standard': {
    version: 1,
    vendor: 'switchboard-showcase',
    validate(value: unknown) {
      const v = value as { text?: unknown; nonce?: unknown } | null
      if (typeof value !== 'object' || v === null || typeof v.text !== 'string') {
        return fail('a message is { text: string }')
      }
      const text = v.text.trim()
      if (text.length === 0 || text.length > 500) return fail('text must be 1 to 500 characters')
      if (v.nonce === undefined) return { value: { text } }
      if (typeof v.nonce !== 'string' || !NONCE.test(v.nonce)) {
        return fail('nonce must be 1 to 40 of A-Z a-z 0-9 _ -')
      }
      return { value: { text, nonce: v.nonce } }
    },
  },
}

/** The schema of `typing:<room>`: `{ typing: boolean }`, nothing else. */
export const typingSignal: StandardSchemaV1<unknown, Typing> = {
  '~standard': {
    version: 1,
    vendor: 'switchboard-showcase',
    validate(value: unknown) {
      const typing = (value as { typing?: unknown } | null)?.typing
      return typeof typing === 'boolean' ? { value: { typing } } : fail('a signal is { typing }')
    },
  },
}

/**
 * Demo-only sign-in: the token is the display name. A real app verifies a JWT or a session
 * cookie here instead (the whiteboard does: see auth.ts).
 */
export const demoAuth: ConnectHook = ({ token }) => {
  const name = (token ?? '').trim()
  if (!NAME.test(name)) {
    throw new SwitchboardError(
      'SWB_ERR_AUTH_UNAUTHORIZED',
      'A name is 1 to 24 letters, digits, spaces or _ . -',
    )
  }
  return { user: name, info: { name } }
}

/** Declares the `chat` and `typing` namespaces, the `chat.rooms` rpc and the chat page. */
export function mountChat(app: Switchboard): void {
  app.channels.namespace('chat', {
    historySize: 100,
    historyTtl: 24 * 60 * 60 * 1000,
    presence: true,
    joinLeave: true,
    clientPublish: true,
    schema: chatMessage,
    // Each message carries the time the broker stored it: pages count unread messages by it.
    timestamps: true,
    slowConsumer: 'drop-oldest',
  })
  app.channels.namespace('typing', {
    historySize: 0,
    clientPublish: true,
    schema: typingSignal,
    slowConsumer: 'conflate',
    // A typing signal resent after a reconnect is stale anyway: remember keys only briefly.
    idempotencyWindow: 5_000,
  })
  app.channels.rpc('chat.rooms', () => CHAT_ROOMS)
  app.get('/chat', (ctx) => ctx.file(new URL('./public/chat.html', import.meta.url).pathname))
}
