export { DurableBroker, type DurableBrokerOptions } from './durable-broker.ts'
