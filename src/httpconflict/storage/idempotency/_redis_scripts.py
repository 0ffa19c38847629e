"""The Lua scripts of the Redis idempotency store (see redis.py for what they are for).

Each script is one atomic step on the server. Every one of them may run
twice for one call (a command whose reply was lost is sent again): each
treats "already done by this token" as done, so running twice is running
once. Times come from the server's own clock (TIME), so every process
measures an epoch's age on the same clock as Redis measures its TTLs.
"""

from __future__ import annotations

from typing import Final

#: Where the epoch lives: "<32 hex id> <milliseconds since 1970 when it began>", no TTL.
EPOCH_KEY: Final = "httpconflict:idempotency:epoch"
EPOCH_ID_LENGTH: Final = 32

_NOW_MS: Final = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""

#: KEYS[1] the epoch key; ARGV[1] a new random id. The epoch, begun now if there is none.
BEGIN_EPOCH: Final = (
    _NOW_MS
    + """
local epoch = redis.call('GET', KEYS[1])
if epoch then
  return epoch
end
epoch = ARGV[1] .. ' ' .. string.format('%.0f', now_ms())
redis.call('SET', KEYS[1], epoch)
return epoch
"""
)

#: KEYS[1] the epoch key; ARGV[1] a new random id. The epoch (kept, or begun), as if long begun.
END_QUARANTINE: Final = """
local epoch = redis.call('GET', KEYS[1])
local id = ARGV[1]
if epoch then
  id = string.sub(epoch, 1, 32)
end
epoch = id .. ' 0'
redis.call('SET', KEYS[1], epoch)
return epoch
"""

#: KEYS[1] the key, KEYS[2] the epoch key; ARGV[1] the epoch id the store knows ("" if
#: none), ARGV[2] the in-flight value ("I" .. token .. fingerprint .. "\n"), ARGV[3] the
#: lease in ms. Replies {'claimed'}; {'live', value}; {'epoch', the epoch or nil} when
#: the store does not know it (nothing done); {'quarantine', ms left} for a key that is
#: absent while the epoch is younger than a lease.
CLAIM: Final = (
    _NOW_MS
    + """
local epoch = redis.call('GET', KEYS[2])
if not epoch or string.sub(epoch, 1, 32) ~= ARGV[1] then
  return {'epoch', epoch}
end
local value = redis.call('GET', KEYS[1])
if value then
  if string.sub(value, 1, 33) == string.sub(ARGV[2], 1, 33) then
    return {'claimed'}  -- this very claim, sent twice
  end
  return {'live', value}
end
local lease = tonumber(ARGV[3])
local now = now_ms()
local age = now - tonumber(string.sub(epoch, 34))
if age < 0 then
  -- The server's clock went back: start the quarantine again rather than
  -- let it last as long as the jump.
  redis.call('SET', KEYS[2], string.sub(epoch, 1, 33) .. string.format('%.0f', now))
  age = 0
end
if age < lease then
  return {'quarantine', lease - age}
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', lease)
return {'claimed'}
"""
)

#: KEYS[1] the key; ARGV[1] "I" .. token; ARGV[2] the first line to write without its
#: letter (token .. fingerprint .. "\n"), or "" if unknown; ARGV[3] the completed tail
#: (JSON head line and body); ARGV[4] the retention in ms. Replies 1 recorded over the
#: claim, 2 recorded already by this token, 3 recorded where the key was absent, 0 the
#: key belongs to another request (nothing done).
COMPLETE: Final = """
local value = redis.call('GET', KEYS[1])
if value then
  local head = string.sub(value, 1, string.len(ARGV[1]))
  if head == ARGV[1] then
    local first = string.sub(value, 2, string.find(value, "\\n", 1, true))
    redis.call('SET', KEYS[1], 'C' .. first .. ARGV[3], 'PX', ARGV[4])
    return 1
  end
  if head == 'C' .. string.sub(ARGV[1], 2) then
    return 2
  end
  return 0
end
-- Absent: the claim was lost with Redis's data, or its lease ran out, and
-- nobody has claimed the key since. The answer is still this request's.
if ARGV[2] == '' then
  return 0
end
redis.call('SET', KEYS[1], 'C' .. ARGV[2] .. ARGV[3], 'PX', ARGV[4])
return 3
"""

#: KEYS[1] the key, KEYS[2] the epoch key; ARGV[1] "I" .. token; ARGV[2] the lease in ms;
#: ARGV[3] the in-flight value ("I" .. token .. fingerprint .. "\n"), or "" if unknown;
#: ARGV[4] a new random epoch id. Replies 1 renewed; 2 claimed again: the key was absent
#: while the epoch is younger than a lease (Redis lost its keys, and refuses claims of
#: absent keys until then, so nobody else can hold it); 0 not this token's claim
#: (nothing done).
RENEW: Final = (
    _NOW_MS
    + """
local value = redis.call('GET', KEYS[1])
if value then
  if string.sub(value, 1, string.len(ARGV[1])) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return 1
  end
  return 0
end
if ARGV[3] == '' then
  return 0
end
local now = now_ms()
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  -- The first to meet the empty Redis: its quarantine begins now.
  epoch = ARGV[4] .. ' ' .. string.format('%.0f', now)
  redis.call('SET', KEYS[2], epoch)
end
local lease = tonumber(ARGV[2])
if now - tonumber(string.sub(epoch, 34)) < lease then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', lease)
  return 2
end
return 0
"""
)

#: KEYS[1] the key; ARGV[1] "I" .. token. Replies 1 released, 0 not this token's claim.
RELEASE: Final = """
local value = redis.call('GET', KEYS[1])
if value and string.sub(value, 1, string.len(ARGV[1])) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""
