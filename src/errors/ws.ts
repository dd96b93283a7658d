import { defineErrors } from './define.ts'

/** Errors of the WebSocket layer: handshake refusals (HTTP status) and protocol closes (close code). */
export const wsErrors = defineErrors({})
