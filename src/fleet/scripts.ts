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

/** The server's time in ms. */
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * One limit_req zone's sync. KEYS: buckets hash (key → "level:lastMs:total"),
 * touched zset (key → ms), instances zset (id → heartbeat ms). The level is
 * limit_req's excess (thousandths of a request) before nginx's clamp, kept
 * down to -1000 (a drained key's credit); total counts every request the
 * fleet accepted for the key.
 * ARGV: rate, since (server ms of this instance's last sync), instance id,
 * heartbeat ttl ms, idle ms, then key, accepted pairs. Adds each key's
 * accepted requests to the fleet bucket, forgets keys idle for `idle`,
 * beats the instance's heart, and answers
 * [now, live instances, key, level, total, ...] for every key changed since `since`.
 */
export const REQ_SYNC = script(`${NOW}
local rate = tonumber(ARGV[1])
local idle = tonumber(ARGV[5])
local function bucket(v)
  if not v then return -1000, 0 end
  local a = string.find(v, ':', 1, true)
  local b = string.find(v, ':', a + 1, true)
  local ms = now - tonumber(string.sub(v, a + 1, b - 1))
  if ms < 0 then ms = 0 end
  return math.max(-1000, tonumber(string.sub(v, 1, a - 1)) - math.floor(rate * ms / 1000)), tonumber(string.sub(v, b + 1))
end
for i = 6, #ARGV, 2 do
  local level, total = bucket(redis.call('HGET', KEYS[1], ARGV[i]))
  local n = tonumber(ARGV[i + 1])
  -- n requests now, as nginx accounts them one by one: the first one clamps at 0.
  level = math.max(0, level + 1000) + (n - 1) * 1000
  redis.call('HSET', KEYS[1], ARGV[i], level .. ':' .. now .. ':' .. (total + n))
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
  local level, total = bucket(redis.call('HGET', KEYS[1], k))
  out[#out + 1] = k
  out[#out + 1] = tostring(level)
  out[#out + 1] = tostring(total)
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
export const THROTTLE_SYNC = script(`${NOW}
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
