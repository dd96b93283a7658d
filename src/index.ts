// Public exports of the `switchboard` package. This file only re-exports.

export type {
  ErrorHook,
  RequestHook,
  ResponseHook,
  SseHandler,
} from './app.ts'
export { Switchboard } from './app.ts'
export type { BrokerPublishResult, HistoryOptions } from './broker/broker.ts'
export type { Broker } from './broker/index.ts'
export { MemoryBroker, MemoryCluster } from './broker/index.ts'
export type { ChannelsOptions } from './channels.ts'
export { Channels } from './channels.ts'
export type { ErrorCode, ErrorSpec } from './errors/index.ts'
export { createError, ERRORS, HttpError, SwitchboardError } from './errors/index.ts'
export type { HealthPaths } from './health.ts'
export type { Handler, Middleware, Next } from './http/compose.ts'
export type { BodyValue } from './http/context.ts'
export { Context } from './http/context.ts'
export type { CorsOptions, CorsOrigin } from './http/cors.ts'
export { cors } from './http/cors.ts'
export { RouteGroup } from './http/group.ts'
export type { ListenAddress } from './http/node.ts'
export type { Hook, RouteOptions } from './http/router.ts'
export type { FileOptions, StaticOptions } from './http/static.ts'
export { serveStatic } from './http/static.ts'
export type {
  AuthenticateRequest,
  ChannelFoldOptions,
  ConnectHook,
  ConnectRequest,
  FoldAppend,
  FoldLoss,
  HttpRequestInfo,
  HubOptions,
  HubPublishOptions,
  HubStats,
  Identity,
  JwtAuthOptions,
  Namespace,
  NamespaceOptions,
  RpcContext,
  RpcHandler,
  SlowConsumerPolicy,
  StandardSchemaV1,
  TicketOptions,
  TicketUse,
} from './hub/index.ts'
export { ChannelFold, Hub, jwtAuth, StreamTickets } from './hub/index.ts'
export type { LimitOptions, LimitRefusals } from './hub/limits.ts'
export type {
  BrokerOperation,
  DropReason,
  MetricsRecorder,
  RecoveryOutcome,
} from './hub/recorder.ts'
export { NO_METRICS } from './hub/recorder.ts'
export type {
  CheckResult,
  CloseHook,
  CloseOptions,
  Closer,
  DrainItem,
  Readiness,
} from './lifecycle.ts'
export { DEFAULT_DRAIN_WINDOW } from './lifecycle.ts'
export type { SwitchboardOptions } from './options.ts'
export { DisconnectCode, isDisconnectCode, reconnectAllowed } from './protocol/index.ts'
export type { SignalOptions } from './signals.ts'
export { closeOnSignals } from './signals.ts'
export type {
  PreparedEvent,
  SseCloseReason,
  SseEvent,
  SseInit,
  SseItem,
  SseOptions,
  SsePolicy,
} from './sse/index.ts'
export {
  broadcast,
  createSseStream,
  HeartbeatRegistry,
  prepareEvent,
  resolveSseOptions,
  SseStream,
} from './sse/index.ts'
export type {
  CompressionOptions,
  PreparedMessage,
  SendStatus,
  WsBehaviour,
  WsMessage,
} from './ws/index.ts'
export { BUFFERED, DROPPED, prepareMessage, SENT, ServerWebSocket } from './ws/index.ts'
export type { OriginOption } from './ws/origin.ts'
