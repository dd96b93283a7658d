// The shared broker conformance suite against RedisBroker on one redis-server and on a 3-master
// Redis Cluster, both started here on free loopback ports.
import { after, before, describe } from 'node:test'
import { RedisBroker } from '../../src/broker/redis/index.ts'
import { runBrokerCases } from '../../src/broker/test-utils/broker.case.ts'
import { RedisCluster, RedisServer, redisSkipReason } from '../support/redis.ts'

const skip = redisSkipReason()
let n = 0
const prefix = () => `t${process.pid}x${++n}`

describe('RedisBroker on one redis-server', { skip }, () => {
  let server: RedisServer
  before(async () => {
    server = await RedisServer.start()
  })
  after(() => server.stop())
  runBrokerCases('redis', () => new RedisBroker({ url: server.url, prefix: prefix() }), {
    deliveryDelay: 60,
  })
})

describe('RedisBroker on a 3-master Redis Cluster', { skip }, () => {
  let cluster: RedisCluster
  before(async () => {
    cluster = await RedisCluster.start(3, 0)
  })
  after(() => cluster.stop())
  runBrokerCases(
    'redis-cluster',
    () => new RedisBroker({ cluster: cluster.urls, prefix: prefix() }),
    {
      deliveryDelay: 100,
    },
  )
})
