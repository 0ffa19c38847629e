-- GET load for wrk, one document per connection.
--
--   wrk -tN -cN -s get.lua URL -- PREFIX EXPECT ETAG_0 ... ETAG_N-1
--
-- Thread k reads document PREFIX .. k. ETAG_k is that document's current
-- ETag: sent in If-None-Match, the answer should be 304; "-" sends a plain
-- GET, answered 200. EXPECT is the status every answer should have; done()
-- prints one line, WRK_RESULT {json}, with the answers counted by status and
-- "bad" counting those that differ from EXPECT.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  expect = tonumber(args[2])
  local etag = args[3 + id]
  if etag == nil then
    error("no ETag argument for thread " .. id)
  end
  local headers = {}
  if etag ~= "-" then
    headers["If-None-Match"] = etag
  end
  req = wrk.format("GET", args[1] .. id, headers)
  bad = 0
  statuses = {}
end

function request()
  return req
end

function response(status, hdrs, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status ~= expect then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
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
    '"socket_errors":%d}\n',
    summary.requests, summary.duration, total_bad, table.concat(parts, ","),
    e.connect + e.read + e.write + e.timeout))
end
