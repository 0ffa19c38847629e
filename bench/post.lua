-- POST load for wrk: creates, with or without Idempotency-Key.
--
--   wrk -tN -cN -s post.lua URL -- PATH MODE NONCE
--
-- MODE "none" sends no key; "unique" a new key per request (each runs);
-- "same" one key per thread (its first request runs, the rest are
-- replays). Every answer should be 201. NONCE keeps keys apart between runs.

local result = require("result")
setup = result.setup
done = result.done

function init(args)
  path = args[1]
  mode = args[2]
  nonce = args[3]
  n = 0
  bad = 0
  statuses = {}
  headers = { ["Content-Type"] = "application/json" }
  same_body = string.format('{"item":"tea","thread":%d,"run":"%s"}', id, nonce)
end

function request()
  n = n + 1
  local body = same_body
  if mode == "unique" then
    headers["Idempotency-Key"] = string.format('"%s-%d-%d"', nonce, id, n)
    body = string.format('{"item":"tea","thread":%d,"n":%d,"run":"%s"}', id, n, nonce)
  elseif mode == "same" then
    headers["Idempotency-Key"] = string.format('"%s-%d"', nonce, id)
  else
    body = string.format('{"item":"tea","thread":%d,"n":%d,"run":"%s"}', id, n, nonce)
  end
  return wrk.format("POST", path, headers, body)
end

function response(status, hdrs, body)
  result.count(status, status == 201)
end
