-- PUT load for wrk against a peer that takes the version in the body
-- (django-concurrency under DRF): one document per connection, as put.lua.
--
--   wrk -tN -cN -s put_version.lua URL -- PREFIX NONCE VERSION_0 ... VERSION_N-1
--
-- Each PUT goes to PREFIX .. thread number .. "/" (DRF's trailing slash) with
-- {"version": V, "count": n, ...}, V being the version the previous 2xx
-- answer's body carried (VERSION_k for the first). "bad" counts non-2xx
-- answers (a 409 would mean a thread lost track of its version).

local result = require("result")
setup = result.setup
done = result.done

function init(args)
  path = args[1] .. id .. "/"
  nonce = args[2]
  version = args[3 + id]
  if version == nil then
    error("no version argument for thread " .. id)
  end
  headers = { ["Content-Type"] = "application/json" }
  filler = string.rep("x", 64)
  n = 0
  bad = 0
  statuses = {}
end

function request()
  n = n + 1
  local body = string.format(
    '{"title":"benchmark %s %s","count":%d,"version":%s,"filler":"%s"}',
    nonce, id, n, version, filler)
  return wrk.format("PUT", path, headers, body)
end

function response(status, hdrs, body)
  local ok = status >= 200 and status <= 299
  result.count(status, ok)
  if ok then
    version = body:match('"version":(%d+)') or version
  end
end
