-- Shared by the bench/*.lua scripts: number the threads, count answers by
-- status in each thread, and print one line when the run is over:
--
--   WRK_RESULT {"requests":N,"duration_us":N,"bad":N,"statuses":{...},"socket_errors":N,
--               "p50_us":N,"p99_us":N}
--
-- A script sets the globals `bad` and `statuses` in init() and counts into
-- them with result.count(status, ok) from response().

local result = {}
local threads = {}

-- setup() runs in the main Lua state once per thread: give each its number.
function result.setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

-- Count one answer in this thread's globals.
function result.count(status, ok)
  statuses[status] = (statuses[status] or 0) + 1
  if not ok then
    bad = bad + 1
  end
end

function result.done(summary, latency, requests)
  local total_bad = 0
  local merged = {}
  for _, thread in ipairs(threads) do
    total_bad = total_bad + thread:get("bad")
    for status, count in pairs(thread:get("statuses")) do
      merged[status] = (merged[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(merged) do
    table.insert(parts, string.format('"%d":%d', status, count))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"bad":%d,"statuses":{%s},' ..
    '"socket_errors":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, total_bad, table.concat(parts, ","),
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end

return result
