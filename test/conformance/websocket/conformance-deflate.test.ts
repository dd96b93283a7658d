/**
 * WebSocket conformance, RFC 7692 groups: 12 (generated corpora) and 13 (every parameter
 * combination, invalid offers), against our testee and the `ws` control. See README.md.
 */
import { conformanceSuite } from './suite.ts'

conformanceSuite(
  'WebSocket conformance: permessage-deflate (RFC 7692)',
  (group) => group === '12' || group === '13',
)
