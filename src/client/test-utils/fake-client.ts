// A client wired to a FakeServer for the client's unit tests: the server's WebSocket,
// EventSource and fetch, fast backoff, no page-visibility source, and every state change kept.
import { SwitchboardClient } from '../client.ts'
import type { StateEvent } from '../client-events.ts'
import type { ClientOptions } from '../options.ts'
import { FakeServer } from './fake-server.ts'

/**
 * @example
 * const { client, server, states } = fakeClient({ transport: 'sse' })
 */
export function fakeClient(
  options: Partial<ClientOptions> = {},
  server = new FakeServer(),
): { client: SwitchboardClient; server: FakeServer; states: StateEvent[] } {
  const client = new SwitchboardClient({
    url: 'ws://switchboard.test/sb',
    WebSocket: server.WebSocket,
    EventSource: server.EventSource,
    fetch: server.fetch,
    minReconnectDelay: 5,
    maxReconnectDelay: 20,
    visibility: null,
    ...options,
  })
  const states: StateEvent[] = []
  client.on('state', (e) => states.push(e))
  return { client, server, states }
}
