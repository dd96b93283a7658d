export * from './broker.ts'
export * from './memory.ts'
