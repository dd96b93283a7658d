// Peer: Fastify 5 answering GET / with a small JSON body (its own benchmark's handler shape).
import Fastify from 'fastify'
import { announce, gc } from './common.ts'

const app = Fastify({ logger: false })
app.get('/', async () => ({ hello: 'world' }))
app.get('/__gc', async () => gc())
await app.listen({ port: 0, host: '127.0.0.1', backlog: 4096 })
const addr = app.server.address()
announce(typeof addr === 'object' && addr ? addr.port : 0)
