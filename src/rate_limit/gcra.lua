-- GCRA, the Generic Cell Rate Algorithm (ATM Forum Traffic Management 4.1), the limiter of
-- redis-cell and of Brandur Leach's "Rate Limiting, Cells, and GCRA", in one atomic step.
--
-- KEYS[1]  the budget's key
-- ARGV[1]  the emission interval, in microseconds: one request is earned back per interval
-- ARGV[2]  the burst: how many requests a full budget allows at once
--
-- The key holds the budget's theoretical arrival time (TAT): when the next request would be
-- due if requests came exactly one interval apart. A request is allowed when, counted, the TAT
-- stays within `burst` intervals of now. Time is the Redis server's, so instances whose clocks
-- disagree still share one timeline. The key expires when the budget is full again: an idle
-- client costs no memory, and a refused request writes nothing.
--
-- Returns {1, 0} when allowed, or {0, wait}: the microseconds until it would be.

local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])

local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end
local next_tat = tat + interval
local allowed_at = next_tat - interval * burst
if now < allowed_at then
  return {0, allowed_at - now}
end
-- string.format, not tostring: Lua writes numbers with 14 significant digits, too few for
-- microseconds since 1970.
redis.call('SET', KEYS[1], string.format('%d', next_tat),
  'PX', math.ceil((next_tat - now) / 1000))
return {1, 0}
