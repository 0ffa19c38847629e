-- PUT load for wrk: every write a distinct JSON body, one document per connection.
--
--   wrk -tN -cN -s put.lua URL -- PREFIX NONCE ETAG_0 ... ETAG_N-1
--
-- Run with as many threads as connections: each thread's Lua state then owns
-- exactly one connection and one document (PREFIX .. thread number), whose
-- requests go one at a time, so the thread can track the document's ETag.
-- ETAG_k is document k's current ETag (quoted, as the server sent it): each
-- PUT carries it in If-Match and each 2xx answer's ETag replaces it. "-"
-- sends plain PUTs without If-Match (the baseline). NONCE makes the bodies
-- differ from every earlier run's. done() prints one line, WRK_RESULT {json},
-- with the answers counted by status; "bad" counts the non-2xx ones (a 412
-- would mean a thread lost track of its ETag).

local result = require("result")
setup = result.setup
done = result.done

function init(args)
  path = args[1] .. id
  nonce = args[2]
  etag = args[3 + id]
  if etag == nil then
    error("no ETag argument for thread " .. id)
  end
  if etag == "-" then
    etag = nil
  end
  headers = { ["Content-Type"] = "application/json" }
  filler = string.rep("x", 64)
  n = 0
  bad = 0
  statuses = {}
end

function request()
  n = n + 1
  if etag then
    headers["If-Match"] = etag
  end
  local body = string.format(
    '{"title":"benchmark document","writer":%d,"write":%d,"run":"%s","filler":"%s"}',
    id, n, nonce, filler)
  return wrk.format("PUT", path, headers, body)
end

function response(status, hdrs, body)
  local ok = status >= 200 and status <= 299
  result.count(status, ok)
  if ok and etag then
    etag = hdrs["ETag"] or hdrs["etag"] or hdrs["Etag"] or etag
  end
end
