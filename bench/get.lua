-- GET load for wrk, one document per connection.
--
--   wrk -tN -cN -s get.lua URL -- PREFIX EXPECT ETAG_0 ... ETAG_N-1
--
-- Thread k reads document PREFIX .. k. ETAG_k is that document's current
-- ETag: sent in If-None-Match, the answer should be 304; "-" sends a plain
-- GET, answered 200. EXPECT is the status every answer should have; done()
-- prints one line, WRK_RESULT {json}, with the answers counted by status and
-- "bad" counting those that differ from EXPECT.

local result = require("result")
setup = result.setup
done = result.done

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
  result.count(status, status == expect)
end
