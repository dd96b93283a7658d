// Hostile protocol v1 commands on the channel endpoint: oversized JSON, JSON nested thousands
// deep, and MessagePack whose headers declare lengths of 4 GiB in a few bytes. Each gets its
// close code over WebSocket (1009 past maxPayload, 3501) or its status over POST (413, 400), a hundred
// connections doing it at once leave the server's memory bounded, and a subscriber in another
// process keeps receiving a live channel without loss.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { closeCode, frame, openRaw } from './support/frames.ts'
import {
  assertHeapBack,
  assertPeakWithin,
  assertService,
  sleep,
  startProbe,
  startServer,
} from './support/harness.ts'

const server = await startServer()
const probe = await startProbe(server.port, 'channel', 'feed:live')
await server.publish('feed:live', 200, 64)
after(async () => {
  probe.close()
  await server.stopPublishing()
  await server.close()
})

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth)
const publish = (data: string) => `{"id":2,"type":"publish","channel":"feed:a","data":${data}}`

/** Sends `payload` (text or binary) after connect on a fresh connection; resolves with the close code. */
async function wsAttempt(payload: Buffer, binary: boolean, msgpack = false): Promise<number> {
  const proto = msgpack ? 'Sec-WebSocket-Protocol: switchboard.v1.msgpack\r\n' : ''
  const { socket } = await openRaw(server.port, '/switchboard', proto)
  const closed = closeCode(socket)
  socket.write(frame(binary ? 0x2 : 0x1, payload))
  return closed
}

async function post(body: string): Promise<{ status: number; code: string }> {
  const res = await fetch(`http://127.0.0.1:${server.port}/switchboard`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  })
  const json = (await res.json()) as { error?: { code: string } }
  return { status: res.status, code: json.error?.code ?? '' }
}

// MessagePack headers that announce far more than the frame holds (msgpack spec: 0xdf map32,
// 0xdd array32, 0xdb str32, 0xc6 bin32, 0xc9 ext32, each with a 32-bit big-endian length).
const LIES: Record<string, Buffer> = {
  'map32 of 2^32-1 pairs': Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 0x61]),
  'array32 of 2^32-1 items': Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0x01]),
  'str32 of 4 GiB': Buffer.from([0xdb, 0xff, 0xff, 0xff, 0xff, 0x61, 0x62]),
  'bin32 of 4 GiB': Buffer.from([0xc6, 0xff, 0xff, 0xff, 0xff, 0x00]),
  'ext32 of 4 GiB': Buffer.from([0xc9, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00]),
  // A command map whose data is an array32 claiming 2^32-1 items with three present.
  'publish whose data claims 2^32-1 items': Buffer.concat([
    Buffer.from([0x84, 0xa2, 0x69, 0x64, 0x02, 0xa4, 0x74, 0x79, 0x70, 0x65]),
    Buffer.from([0xa7, ...Buffer.from('publish'), 0xa7, ...Buffer.from('channel')]),
    Buffer.from([0xa6, ...Buffer.from('feed:a'), 0xa4, ...Buffer.from('data')]),
    Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03]),
  ]),
}

test('oversized and deeply nested JSON commands get 1009/3501 over WebSocket and 413/400 over POST', async () => {
  // Over maxPayload (which the endpoint sets to maxCommandBytes, 64 KiB): the WebSocket layer
  // refuses it by its header with 1009, before any of it is buffered.
  assert.equal(await wsAttempt(Buffer.from(publish(`"${'x'.repeat(100_000)}"`)), false), 1009)
  assert.equal(await wsAttempt(Buffer.from(publish(nested(5000))), false), 3501)
  assert.equal(await wsAttempt(Buffer.from(publish(nested(200_000))), false), 1009) // 400 KB
  assert.deepEqual(await post(publish(`"${'x'.repeat(100_000)}"`)), {
    status: 413,
    code: 'SWB_ERR_PROTOCOL_MESSAGE_TOO_LARGE',
  })
  assert.deepEqual(await post(publish(nested(5000))), {
    status: 400,
    code: 'SWB_ERR_PROTOCOL_BAD_COMMAND',
  })
})

test('MessagePack frames declaring 4 GiB lengths each close with 3501', async () => {
  for (const [name, bytes] of Object.entries(LIES)) {
    assert.equal(await wsAttempt(bytes, true, true), 3501, name)
  }
})

test('100 connections sending these at once leave memory bounded and a live subscriber loses nothing', async (t) => {
  const quiet = await probe.measure(() => sleep(1000))
  const before = await server.settled()
  await server.resetPeak()
  const codes: number[] = []
  const attacked = await probe.measure(async () => {
    const runs: Promise<number>[] = []
    const lies = Object.values(LIES)
    for (let i = 0; i < 100; i++) {
      const kind = i % 4
      if (kind === 0) runs.push(wsAttempt(Buffer.from(publish(`"${'x'.repeat(100_000)}"`)), false))
      else if (kind === 1) runs.push(wsAttempt(Buffer.from(publish(nested(30_000))), false))
      else runs.push(wsAttempt(lies[i % lies.length]!, true, true))
    }
    codes.push(...(await Promise.all(runs)))
  })
  const during = await server.stats()
  assert.equal(codes.filter((c) => c === 1009).length, 25, 'the oversized ones: 1009')
  assert.equal(codes.filter((c) => c === 3501).length, 75, 'the deep and the lying ones: 3501')
  assert.equal(attacked.lost, 0, 'the subscriber saw every offset')
  assert.equal(attacked.gaps, 0)
  t.diagnostic(assertService(quiet, attacked, 20))
  t.diagnostic(assertPeakWithin(before, during, 64))
  assertHeapBack(before, await server.settled(), 8)
})
