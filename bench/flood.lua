-- wrk script for bench/flood.sh. Every signup names its own event id; the stand-in
-- Fingerprint API (bench/flood.sh) picks the persona from the id's prefix:
--   bot_...        a bad bot                     -> 403 bot_detected
--   dupK_...       device K of 25 (K = 0..24),   -> 429 device_limit (seeded beforehand)
--                  which already holds an account
--   new_...        a device of its own           -> 200 created (hashes a password)
--
-- MODE (env) picks the traffic:
--   refuse   bad bots and duplicate devices, alternating   expected 403 or 429
--   new      new devices only                              expected 200
--   bot      bad bots only, paced to RATE requests/s       expected 403
--   relay    the refuse mix as POST /relay/<id>, for the nginx relay reference  expected 200
--   health   GET /health, paced to RATE requests/s         expected 200
-- TAG (env) makes this run's ids unique: requestIds are single-use in the service.
-- BENCH_PORTS ("3101" or "3101,3102") pins thread k to the port k mod count, which spreads
-- the load over two instances without a balancer in between.
-- RATE (env, requests/s over all threads) paces bot and health; 0 or unset = as fast as
-- possible. Pacing schedules each request on a per-thread clock, so the rate holds while
-- responses stay faster than connections/RATE.

local mode = os.getenv("MODE") or "refuse"
local tag = os.getenv("TAG") or "x"
local rate = tonumber(os.getenv("RATE") or "0") or 0

local threads = {}
local next_thread = 0

function setup(thread)
  local ports = {}
  for port in string.gmatch(os.getenv("BENCH_PORTS") or "", "[^,]+") do
    table.insert(ports, port)
  end
  if #ports > 0 then
    thread.addr = wrk.lookup("127.0.0.1", ports[(next_thread % #ports) + 1])[1]
  end
  thread:set("tid", next_thread)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end

-- A wall clock in milliseconds, through LuaJIT's FFI (wrk embeds LuaJIT).
local now_ms
do
  local ok, ffi = pcall(require, "ffi")
  if ok then
    ffi.cdef [[
      typedef struct { long tv_sec; long tv_nsec; } flood_timespec;
      int clock_gettime(int clk_id, flood_timespec *tp);
    ]]
    local ts = ffi.new("flood_timespec")
    now_ms = function()
      ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
      return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
    end
  end
end

local n = 0
local per_thread_interval_ms = 0
local next_slot

function init(args)
  local count = tonumber(os.getenv("WRK_THREADS") or "1")
  if rate > 0 then
    per_thread_interval_ms = 1000 * count / rate
  end
  c200, c403, c429, c409, c503, cother, sent_bot, sent_dup, sent_new = 0, 0, 0, 0, 0, 0, 0, 0, 0
end

function delay()
  if per_thread_interval_ms <= 0 then
    return 0
  end
  if not now_ms then
    -- No clock: a fixed pause per request; the achieved rate is lower by the response time.
    local per_thread = tonumber(os.getenv("CONNECTIONS") or "1") / tonumber(os.getenv("WRK_THREADS") or "1")
    return math.floor(per_thread_interval_ms * per_thread)
  end
  local now = now_ms()
  if not next_slot or next_slot < now - 1000 then
    -- Start, or fell more than a second behind: do not burst to catch up.
    next_slot = now
  end
  local wait = next_slot - now
  next_slot = next_slot + per_thread_interval_ms
  if wait < 0 then
    return 0
  end
  return math.floor(wait)
end

local headers = { ["Content-Type"] = "application/json" }

local function signup(path, id)
  local body = string.format(
    '{"requestId":"%s","username":"u-%s-%d-%d@example.org","password":"correct horse battery staple"}',
    id, tag, tid, n)
  return wrk.format("POST", path, headers, body)
end

function request()
  n = n + 1
  if mode == "health" then
    return wrk.format("GET", "/health")
  end
  local id
  if mode == "new" then
    sent_new = sent_new + 1
    id = string.format("new_%s_t%d_%d", tag, tid, n)
  elseif mode == "bot" or n % 2 == 0 then
    sent_bot = sent_bot + 1
    id = string.format("bot_%s_t%d_%d", tag, tid, n)
  else
    sent_dup = sent_dup + 1
    id = string.format("dup%d_%s_t%d_%d", n % 25, tag, tid, n)
  end
  if mode == "relay" then
    return signup("/relay/" .. id, id)
  end
  return signup("/api/create-account", id)
end

function response(status, headers, body)
  if status == 200 then c200 = c200 + 1
  elseif status == 403 then c403 = c403 + 1
  elseif status == 429 then c429 = c429 + 1
  elseif status == 409 then c409 = c409 + 1
  elseif status == 503 then c503 = c503 + 1
  else cother = cother + 1 end
end

function done(summary, latency, requests)
  local t = {}
  for _, key in ipairs({ "c200", "c403", "c429", "c409", "c503", "cother", "sent_bot", "sent_dup", "sent_new" }) do
    t[key] = 0
    for _, thread in ipairs(threads) do
      t[key] = t[key] + (thread:get(key) or 0)
    end
  end
  local expected
  if mode == "refuse" then expected = t.c403 + t.c429
  elseif mode == "bot" then expected = t.c403
  else expected = t.c200 end
  local answered = t.c200 + t.c403 + t.c429 + t.c409 + t.c503 + t.cother
  local e = summary.errors
  io.write(string.format(
    "RESULT mode=%s requests=%d seconds=%.3f rps=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f " ..
    "answered=%d expected=%d non2xx=%d c200=%d c403=%d c429=%d c409=%d c503=%d cother=%d " ..
    "socket_errors=%d sent_bot=%d sent_dup=%d sent_new=%d\n",
    mode, summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    answered, expected, answered - t.c200, t.c200, t.c403, t.c429, t.c409, t.c503, t.cother,
    e.connect + e.read + e.write + e.timeout, t.sent_bot, t.sent_dup, t.sent_new))
end
