export { BACKOFF_DEFAULTS, Backoff, type BackoffOptions, shouldReconnect } from './backoff.ts'
export { SwitchboardClient } from './client.ts'
export {
  type ClientEvents,
  type ConnectionState,
  type FallbackEvent,
  type ReconnectingEvent,
  StateCode,
  type StateEvent,
  type UpgradeEvent,
} from './client-events.ts'
export { Commands } from './commands.ts'
export { Emitter } from './emitter.ts'
export { ClientError, ClientErrorCode, type ClientErrorCodeValue } from './errors.ts'
export { type ClientOptions, type ResolvedOptions, resolveOptions } from './options.ts'
export { idempotencyKey, Outbox, type OutboxEntry } from './outbox.ts'
export {
  type GapContext,
  type PublicationContext,
  type ResetContext,
  type SubscribedContext,
  type SubscribeOptions,
  Subscription,
  SubscriptionCode,
  type SubscriptionEvents,
  type SubscriptionState,
  type SubscriptionStateEvent,
} from './subscription.ts'
export type {
  ClientTransport,
  StreamChannel,
  TransportHandler,
  TransportName,
} from './transport.ts'
export {
  type EventSourceConstructor,
  type EventSourceLike,
  type FetchLike,
  SseTransport,
  streamUrl,
} from './transport-sse.ts'
export {
  type WebSocketConstructor,
  type WebSocketLike,
  WebSocketTransport,
} from './transport-ws.ts'
export type {
  ChannelName,
  NamespaceOf,
  PublicationData,
  PublishData,
  RpcInput,
  RpcMethod,
  RpcOutput,
  ServerDefinition,
} from './types.ts'
export {
  type ProbeEvent,
  UPGRADE_PROBE_DEFAULTS,
  UpgradeProbe,
  type UpgradeProbeHost,
  type UpgradeProbeOptions,
} from './upgrade-probe.ts'
export { documentVisibility, Liveness, type VisibilitySource } from './visibility.ts'
