-- put.lua with a bearer credential on every request:
--
--   wrk -tN -cN -s put_auth.lua URL -- AUTHORIZATION PREFIX NONCE ETAG_0 ... ETAG_N-1
--
-- AUTHORIZATION is the whole header value ("Bearer hc_..."); the rest are put.lua's.

require("put")
local put_init = init

function init(args)
  local rest = {}
  for i = 2, #args do
    rest[i - 1] = args[i]
  end
  put_init(rest)
  headers["Authorization"] = args[1]
end
