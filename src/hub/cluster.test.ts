import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryBroker, MemoryCluster } from '../broker/index.ts'
import type { PublicationPush } from '../protocol/index.ts'
import { Hub } from './hub.ts'
import { SseTransport } from './sse-transport.ts'
import { TestClient, turn } from './test-utils/test-client.ts'

function nodes(): [Hub, Hub] {
  const cluster = new MemoryCluster()
  const options = {
    ticketSecret: 'shared-ticket-secret-0123456789',
    auth: ({ token }: { token?: string }) => ({ user: token ?? '' }),
    namespaces: { chat: { clientPublish: true } },
  }
  return [
    new Hub({ ...options, broker: new MemoryBroker({ cluster }) }),
    new Hub({ ...options, broker: new MemoryBroker({ cluster }) }),
  ]
}

test('a POST handled by another node reaches the SSE stream: no sticky sessions', async () => {
  const [a, b] = nodes()
  try {
    let text = ''
    const sink = {
      write(t: string) {
        text += t
        return true
      },
      close() {},
    }
    // Issued by one node, accepted by the other; for the stream and for commands.
    const ticket = b.issueTicket({ user: 'ann' }, { channels: ['chat:r'], commands: true })
    await a.openStream({ channels: ['chat:r'], ticket }, () => new SseTransport(sink, ['chat:r']))
    const ws = await TestClient.connect(b, 'bob')
    await ws.request({ type: 'subscribe', channel: 'chat:r' })
    const res = await b.httpCommand(
      { id: 1, type: 'publish', channel: 'chat:r', data: 'hi' },
      { ticket },
    )
    assert.equal(res.status, 200)
    await turn()
    assert.match(text, /"data":"hi"/)
    const pub = ws.pushes<PublicationPush>('publication')[0]!
    assert.deepEqual([pub.data, pub.info?.user], ['hi', 'ann'])
  } finally {
    await a.close()
    await b.close()
  }
})

test('sendToUser and disconnect by user reach sessions on every node', async () => {
  const [a, b] = nodes()
  try {
    const onA = await TestClient.connect(a, 'kim')
    const onB = await TestClient.connect(b, 'kim')
    await a.sendToUser('kim', 'note')
    await turn()
    assert.deepEqual(onA.pushes('message'), [{ type: 'message', data: 'note' }])
    assert.deepEqual(onB.pushes('message'), [{ type: 'message', data: 'note' }])
    await b.disconnect('kim', 3502, 'banned')
    assert.equal(onA.transport.closedWith?.code, 3502)
    assert.equal(onB.transport.closedWith?.code, 3502)
    assert.equal(a.connectionCount + b.connectionCount, 0)
  } finally {
    await a.close()
    await b.close()
  }
})
