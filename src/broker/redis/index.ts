export type { BrokerHealth } from '../broker.ts'
export type { AnyRedisClient } from './link.ts'
export type { RedisBrokerOptions } from './options.ts'
export { RedisBroker } from './redis-broker.ts'
