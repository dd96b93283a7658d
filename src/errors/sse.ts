import { defineErrors } from './define.ts'

/** Errors of the Server-Sent Events layer. */
export const sseErrors = defineErrors({})
