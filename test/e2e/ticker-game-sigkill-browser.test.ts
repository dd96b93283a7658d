// The ticker and the game across kill -9 of `npm start`: every open page, over WebSocket and over SSE,
// shows what a fresh page shows within 10 s of the server's return (see the suite's comment).
import { tickerGameRestartSuite } from '../support/ticker-game-restart.ts'

tickerGameRestartSuite('SIGKILL')
