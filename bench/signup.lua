-- wrk script for bench/load.sh: every request is a signup with its own requestId.
--
-- requestIds are single-use and must come from the simulator, so load.sh writes them to
-- IDS_FILE beforehand; thread k of n takes lines k, k+n, k+2n... so no id is sent twice.
-- BENCH_PORTS ("3101" or "3101,3102") pins thread k to the instance on port k mod count:
-- that spreads the load over two instances without a load balancer in between.

local threads = {}
local next_thread = 0

function setup(thread)
  local ports = {}
  for port in string.gmatch(os.getenv("BENCH_PORTS") or "", "[^,]+") do
    table.insert(ports, port)
  end
  local port = ports[(next_thread % #ports) + 1]
  thread.addr = wrk.lookup("127.0.0.1", port)[1]
  thread:set("tid", next_thread)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end

local ids = {}
local used = 0
local prefix

function init(args)
  local count = tonumber(os.getenv("WRK_THREADS"))
  local n = 0
  for line in io.lines(os.getenv("IDS_FILE")) do
    if n % count == tid then
      table.insert(ids, line)
    end
    n = n + 1
  end
  prefix = string.format("b%d-%d-%d", tid, os.time(), math.random(1, 1000000000))
  c200, c409, c429, c503, cother, exhausted = 0, 0, 0, 0, 0, 0
end

function request()
  used = used + 1
  if used > #ids then
    -- Out of ids: resending one would measure 409s, so this thread ends here.
    exhausted = 1
    wrk.thread:stop()
    return wrk.format("GET", "/health")
  end
  local body = string.format(
    '{"requestId":"%s","username":"%s-%d@example.org","password":"correct horse battery staple"}',
    ids[used], prefix, used)
  return wrk.format("POST", "/api/create-account", { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  if status == 200 then c200 = c200 + 1
  elseif status == 409 then c409 = c409 + 1
  elseif status == 429 then c429 = c429 + 1
  elseif status == 503 then c503 = c503 + 1
  else cother = cother + 1 end
end

function done(summary, latency, requests)
  local totals = { c200 = 0, c409 = 0, c429 = 0, c503 = 0, cother = 0, exhausted = 0 }
  for _, thread in ipairs(threads) do
    for key, _ in pairs(totals) do
      totals[key] = totals[key] + (thread:get(key) or 0)
    end
  end
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "RESULT %-22s requests=%d in %.1fs  %.1f req/s  p50=%.0fms p99=%.0fms  " ..
    "200=%d 429=%d 409=%d 503=%d other=%d socket_errors=%d%s\n",
    os.getenv("BENCH_LABEL") or "-", summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    totals.c200, totals.c429, totals.c409, totals.c503, totals.cother,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    totals.exhausted > 0 and "  (ran out of requestIds: raise the id count)" or ""))
end
