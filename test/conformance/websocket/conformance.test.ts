/**
 * WebSocket conformance, RFC 6455 groups (1–10) and the handshake group, against our testee and
 * the `ws` control. The permessage-deflate groups run in conformance-deflate.test.ts so each file
 * stays short. See README.md.
 */
import { conformanceSuite } from './suite.ts'

conformanceSuite(
  'WebSocket conformance: RFC 6455 framing, close and handshake',
  (group) => group !== '12' && group !== '13',
)
