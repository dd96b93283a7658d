/**
 * The Lua scripts of the Redis broker. Each runs atomically in Redis, and every key one script
 * touches belongs to one channel and shares its hash tag, so the scripts run unchanged on a
 * Redis Cluster. Times come from Redis's own clock (`TIME`), so nodes with skewed clocks agree.
 *
 * Keys of a channel (`P` is the prefix, `T` is `{c:<channel>}`):
 * - `P:T:m` hash: `e` epoch, `o` top offset, `t` history TTL in ms, `r` the replication id of the
 *   master that started the epoch (the meta record);
 * - `P:T:s` stream: one entry per kept publication, id `<offset>-<ms stored>`, field `b` the body;
 * - `P:T:i:<key>` string `<offset>:<epoch>`: an applied idempotency key;
 * - `P:T:p` hash client -> member info, and `P:T:z` sorted set client -> expiry ms (presence).
 * The Pub/Sub topic of the channel is `P:T`.
 */

/** Milliseconds now, by Redis's clock. */
const NOW = `local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end`

/**
 * The channel's epoch, or nil when it has none or was written under another master's
 * replication id: after a failover or a restart the server may lack the last writes it had
 * acknowledged (replication and AOF are asynchronous), and reusing their offsets in the same
 * epoch would let a client take a new publication for one it already has. Such a channel starts
 * a new epoch, and its subscribers are told.
 */
const EPOCH = `local function live_epoch(meta)
  local rid = string.match(redis.call('INFO', 'replication'), 'master_replid:(%w+)')
  local m = redis.call('HMGET', meta, 'e', 'r')
  if m[1] and m[2] == rid then return m[1], rid end
  return nil, rid
end`

/** Drops kept publications older than `min_ms` from the head of a stream. */
const TRIM_EXPIRED = `local function trim_expired(stream, min_ms)
  while true do
    local head = redis.call('XRANGE', stream, '-', '+', 'COUNT', 16)
    if #head == 0 then return end
    local keep = nil
    for i = 1, #head do
      local ms = tonumber(string.match(head[i][1], '%-(%d+)$'))
      if ms >= min_ms then keep = head[i][1] break end
    end
    if keep ~= nil then
      redis.call('XTRIM', stream, 'MINID', keep)
      return
    end
    if #head < 16 then
      redis.call('DEL', stream)
      return
    end
    local last = tonumber(string.match(head[#head][1], '^(%d+)%-'))
    redis.call('XTRIM', stream, 'MINID', tostring(last + 1))
  end
end`

/**
 * Publish: KEYS meta, stream, idempotency key (the meta key again when there is none).
 * ARGV body, history size, history TTL ms, idempotency window ms (0: none), topic, a fresh epoch
 * to use if the channel has none, meta TTL ms, the publish command (PUBLISH or SPUBLISH).
 * Returns `{offset, epoch, 0, ms stored}`, or `{offset, epoch, 1}` for an idempotency key already
 * applied.
 */
export const PUBLISH_SCRIPT = `${NOW}
${EPOCH}
${TRIM_EXPIRED}
local window = tonumber(ARGV[4])
if window > 0 then
  local seen = redis.call('GET', KEYS[3])
  if seen then
    local sep = string.find(seen, ':', 1, true)
    return {tonumber(string.sub(seen, 1, sep - 1)), string.sub(seen, sep + 1), 1}
  end
end
local epoch, rid = live_epoch(KEYS[1])
if not epoch then
  epoch = ARGV[6]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', epoch, 'o', 0, 'r', rid)
end
local offset = redis.call('HINCRBY', KEYS[1], 'o', 1)
local now = now_ms()
local size = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
if size > 0 and ttl > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', size, tostring(offset) .. '-' .. tostring(now), 'b', ARGV[1])
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('HSET', KEYS[1], 't', ttl)
  trim_expired(KEYS[2], now - ttl)
end
local meta_ttl = tonumber(ARGV[7])
if ttl > meta_ttl then meta_ttl = ttl end
redis.call('PEXPIRE', KEYS[1], meta_ttl)
if window > 0 then
  redis.call('SET', KEYS[3], tostring(offset) .. ':' .. epoch, 'PX', window)
end
redis.call(ARGV[8], ARGV[5], 'p' .. epoch .. '\\n' .. tostring(offset) .. '\\n' .. tostring(now) .. '\\n' .. ARGV[1])
return {offset, epoch, 0, now}
`

/**
 * History: KEYS meta, stream. ARGV since offset ('' for none), since epoch, limit (-1: all),
 * a fresh epoch to fix if the channel has none, meta TTL ms.
 * Returns `{epoch, top, entries}` with entries as XRANGE gives them; reading a channel fixes
 * its epoch, so a position from this answer stays meaningful.
 */
export const HISTORY_SCRIPT = `${NOW}
${EPOCH}
${TRIM_EXPIRED}
local epoch, rid = live_epoch(KEYS[1])
if not epoch then
  epoch = ARGV[4]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', epoch, 'o', 0, 'r', rid)
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
local top = tonumber(redis.call('HGET', KEYS[1], 'o'))
local limit = tonumber(ARGV[3])
if limit == 0 or (ARGV[1] ~= '' and ARGV[2] ~= epoch) then return {epoch, top, {}} end
local ttl = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
if ttl > 0 then trim_expired(KEYS[2], now_ms() - ttl) end
local start = '-'
if ARGV[1] ~= '' then start = tostring(tonumber(ARGV[1]) + 1) end
local entries
if limit < 0 then
  entries = redis.call('XRANGE', KEYS[2], start, '+')
else
  entries = redis.call('XRANGE', KEYS[2], start, '+', 'COUNT', limit)
end
return {epoch, top, entries}
`

/**
 * Presence add or refresh: KEYS members hash, expiry set. ARGV TTL ms, then pairs of client id
 * and member info. Each node re-adds its own members on a timer, so a member whose node died
 * expires, and members lost with Redis's data come back within one refresh.
 */
export const PRESENCE_ADD_SCRIPT = `${NOW}
local ttl = tonumber(ARGV[1])
local expires = now_ms() + ttl
for i = 2, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  redis.call('ZADD', KEYS[2], expires, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], ttl * 2)
redis.call('PEXPIRE', KEYS[2], ttl * 2)
return 1
`

/**
 * Presence read: KEYS members hash, expiry set. ARGV mode ('members', 'count' or 'prune').
 * Removes members whose node stopped refreshing them, and returns `{expired infos, answer}`:
 * the caller announces the expired members' leave, so whoever removes a member announces it,
 * exactly once.
 */
export const PRESENCE_READ_SCRIPT = `${NOW}
local expired = {}
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now_ms())
for i = 1, #gone do
  local info = redis.call('HGET', KEYS[1], gone[i])
  if info then expired[#expired + 1] = info end
  redis.call('HDEL', KEYS[1], gone[i])
  redis.call('ZREM', KEYS[2], gone[i])
end
if ARGV[1] == 'members' then return {expired, redis.call('HVALS', KEYS[1])} end
if ARGV[1] == 'count' then return {expired, redis.call('HLEN', KEYS[1])} end
return {expired, 0}
`

/** Presence remove: KEYS members hash, expiry set. ARGV client id. */
export const PRESENCE_REMOVE_SCRIPT = `redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`
