/**
 * The Lua scripts the fleet runs in Redis/Valkey: each sync is one
 * script call, atomic on the server, so two instances never interleave
 * half-applied updates. Times are the server's (`TIME`), so the
 * instances' clocks do not need to agree for limits.
 */
import { createHash } from 'node:crypto';

export interface Script {
  lua: string;
  sha: string;
}

function script(lua: string): Script {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/**
 * The server's time in ms, and a stored `level:lastMs` leaked to it: the
 * level is limit_req's excess (thousandths of a request) before nginx's
 * clamp, kept down to -1000 (the credit of a key idle for one request's time).
 */
const NOW_AND_LEAK = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function leaked(v, rate)
  if not v then return -1000 end
  local sep = string.find(v, ':', 1, true)
  local ms = now - tonumber(string.sub(v, sep + 1))
  if ms < 0 then ms = 0 end
  return math.max(-1000, tonumber(string.sub(v, 1, sep - 1)) - math.floor(rate * ms / 1000))
end
`;

/**
 * One limit_req zone's sync. KEYS: buckets hash (key → "level:lastMs"),
 * touched zset (key → ms), instances zset (id → heartbeat ms).
 * ARGV: rate, since (server ms of this instance's last sync), instance id,
 * heartbeat ttl ms, idle ms, then key, accepted pairs. Adds each key's
 * accepted requests to the fleet bucket, forgets keys idle for `idle`,
 * beats the instance's heart, and answers
 * [now, live instances, key, level, ...] for every key changed since `since`.
 */
export const REQ_SYNC = script(`${NOW_AND_LEAK}
local rate = tonumber(ARGV[1])
local idle = tonumber(ARGV[5])
for i = 6, #ARGV, 2 do
  -- n requests now, as nginx accounts them one by one: the first one clamps at 0.
  local e = math.max(0, leaked(redis.call('HGET', KEYS[1], ARGV[i]), rate) + 1000) + (tonumber(ARGV[i + 1]) - 1) * 1000
  redis.call('HSET', KEYS[1], ARGV[i], e .. ':' .. now)
  redis.call('ZADD', KEYS[2], now, ARGV[i])
end
for _, k in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - idle, 'LIMIT', 0, 256)) do
  redis.call('HDEL', KEYS[1], k)
  redis.call('ZREM', KEYS[2], k)
end
redis.call('ZADD', KEYS[3], now, ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[4]))
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], idle) end
local out = { now, redis.call('ZCARD', KEYS[3]) }
for _, k in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], tonumber(ARGV[2]), '+inf')) do
  out[#out + 1] = k
  out[#out + 1] = tostring(leaked(redis.call('HGET', KEYS[1], k), rate))
end
return out
`);

/**
 * One throttle zone's sync. KEYS: records hash (key → record JSON),
 * instances zset. ARGV: instance id, heartbeat ttl ms, then key, record
 * pairs this instance changed. A pushed record replaces the stored one
 * unless that one changed later (`changed`, then `version`, decide);
 * records past their history (ended one TTL ago) are dropped. Answers
 * [now, live instances, key, record, ...] for every record.
 */
export const THROTTLE_SYNC = script(`${NOW_AND_LEAK}
local function newer(a, b)
  if a.changed ~= b.changed then return a.changed > b.changed end
  return a.version > b.version
end
for i = 3, #ARGV, 2 do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  if not old or newer(cjson.decode(ARGV[i + 1]), cjson.decode(old)) then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[2]))
local out = { now, redis.call('ZCARD', KEYS[2]) }
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local r = cjson.decode(all[i + 1])
  if r.ended ~= 0 and now - r.ended >= r.ttlMs then redis.call('HDEL', KEYS[1], all[i])
  else
    out[#out + 1] = all[i]
    out[#out + 1] = all[i + 1]
  end
end
return out
`);
