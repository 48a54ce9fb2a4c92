-- wrk script: GET /k/<n> with n uniform in [0, keys), keys from the script argument (default 10).
-- Each thread gets its own seed so the threads do not walk the same sequence.
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end
function init(args)
  keys = tonumber(args[1] or "10")
  math.randomseed(seed * 7919)
end
function request()
  return wrk.format("GET", "/k/" .. math.random(0, keys - 1))
end
