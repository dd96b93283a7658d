// Every showcase page across a restart of the showcase stopped with SIGTERM: two open pages per
// demo (WebSocket and SSE) act during the outage and show the truth within 10 s of the server's
// return, as a page opened afterwards shows it. The suite is in test/support/showcase-restart.ts.
import { restartSuite } from '../support/showcase-restart.ts'

restartSuite('SIGTERM')
