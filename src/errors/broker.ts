import { defineErrors } from './define.ts'

/**
 * Errors of the broker under the hub (Redis, NATS, the durable store). A command that needed the
 * broker answers with the code; connected sessions stay up.
 */
export const brokerErrors = defineErrors({
  SWB_ERR_BROKER_UNAVAILABLE: {
    status: 503,
    message: 'The broker is unavailable; try again',
  },
  SWB_ERR_BROKER_STORAGE: {
    status: 507,
    message:
      'The broker could not store the publication (disk full or failing); nothing was published',
  },
})
