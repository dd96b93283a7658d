// Peer: bare node:http answering GET / with a small JSON body.
import { createServer } from 'node:http'
import { gc, listen } from './common.ts'

const server = createServer((req, res) => {
  if (req.url === '/') {
    const body = JSON.stringify({ hello: 'world' })
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    })
    res.end(body)
  } else if (req.url === '/__gc') {
    res.end(gc())
  } else {
    res.statusCode = 404
    res.end()
  }
})
listen(server)
