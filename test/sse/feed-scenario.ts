/**
 * The resume scenario both client suites (the `eventsource` package and Chromium's
 * EventSource) run against a real Switchboard server:
 *   1st connection (no Last-Event-ID): retry 200 ms, events 1 and 2, then the server closes.
 *   2nd connection (Last-Event-ID of event 2, a non-ASCII id): event 3, then the server closes.
 *   3rd connection (Last-Event-ID 3): 204, so the client must stop reconnecting.
 */
import { Switchboard } from '../../src/index.ts'

export const RETRY_MS = 200
/** Event 2's id is not ASCII: the client sends it back as UTF-8, the server must decode it. */
export const SECOND_ID = 'zwei-ü'

export const EXPECTED_MESSAGES = [
  { type: 'message', data: 'one', lastEventId: '1' },
  { type: 'named', data: 'two\nlines', lastEventId: SECOND_ID },
  { type: 'message', data: 'three', lastEventId: '3' },
]

export interface FeedServer {
  url: string
  /** The Last-Event-ID each connection arrived with, in order. */
  resumedFrom: (string | undefined)[]
  /** When each connection arrived (ms). */
  arrivals: number[]
  close(): Promise<void>
}

export async function startFeedServer(page = ''): Promise<FeedServer> {
  const app = new Switchboard({ logger: false })
  const resumedFrom: (string | undefined)[] = []
  const arrivals: number[] = []
  app.get('/', (ctx) => ctx.html(page))
  app.sse('/feed', (stream) => {
    resumedFrom.push(stream.lastEventId)
    arrivals.push(Date.now())
    switch (stream.lastEventId) {
      case undefined:
        stream.send({ retry: RETRY_MS, id: '1', data: 'one' })
        stream.send({ id: SECOND_ID, event: 'named', data: 'two\nlines' })
        stream.close()
        return
      case SECOND_ID:
        stream.send({ id: '3', data: 'three' })
        stream.close()
        return
      default:
        stream.noContent()
    }
  })
  const { url } = await app.listen({ port: 0, host: '127.0.0.1' })
  return { url, resumedFrom, arrivals, close: () => app.close({ graceful: 500 }) }
}
