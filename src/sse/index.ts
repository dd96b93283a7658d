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
export {
  broadcast,
  createSseStream,
  type ResolvedSseOptions,
  readLastEventId,
  resolveSseOptions,
  type SseCloseReason,
  type SseInit,
  type SseItem,
  type SseOptions,
  type SsePolicy,
  SseStream,
} from './stream.ts'
