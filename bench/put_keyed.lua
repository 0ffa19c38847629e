-- bench/put.lua with a fresh Idempotency-Key on every PUT: the keyed write.
--
--   wrk -tN -cN -s put_keyed.lua URL -- PREFIX NONCE ETAG_0 ... ETAG_N-1
--
-- The same documents, If-Match and bodies as put.lua; each request also
-- carries a key of its own, so each runs and records its answer under the
-- key (in the write's transaction, on the service).

require("put")

local plain = request
local keyed = 0

function request()
  keyed = keyed + 1
  headers["Idempotency-Key"] = string.format('"%s-%d-%d"', nonce, id, keyed)
  return plain()
end
