export { broadcast, createSseStream, type SseInit } from './create.ts'
export {
  encodeComment,
  encodeEvent,
  encodePadding,
  isPreparedEvent,
  type PreparedEvent,
  prepareEvent,
  type SseEvent,
} from './encode.ts'
export {
  DEFAULT_HEARTBEAT_INTERVAL,
  defaultHeartbeat,
  type HeartbeatMember,
  HeartbeatRegistry,
} from './heartbeat.ts'
export { readLastEventId } from './last-event-id.ts'
export {
  type ResolvedSseOptions,
  resolveSseOptions,
  type SseCloseReason,
  type SseOptions,
  type SsePolicy,
} from './options.ts'
export { type SseItem, SseStream, type SseStreamWatcher } from './stream.ts'
