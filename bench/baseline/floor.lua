#!lua name=floor
-- The floor of an exact transfer on Ledger 2.0's key layout: only the commands one needs (HMGET
-- of both balances, one HSET of both, one ZADD of both members, XADD, PUBLISH), with no
-- validation, no idempotency and plain Lua numbers (so exact only below 2^53). What a transfer
-- cannot go below on this data model; benchmarks only.
--
-- floor_transfer
-- KEYS   the declared form: token:{SYM}, :balances, :rank, :rank:small, :log
-- ARGV   from, to, amount
-- Reply  [eventId, fromBalance, toBalance]
local function floor_transfer(keys, argv)
  local from, to, amount = argv[1], argv[2], tonumber(argv[3])
  local balances = redis.call('HMGET', keys[2], from, to)
  local from_new = (tonumber(balances[1]) or 0) - amount
  local to_new = (tonumber(balances[2]) or 0) + amount
  local from_text, to_text = string.format('%d', from_new), string.format('%d', to_new)
  redis.call('HSET', keys[2], from, from_text, to, to_text)
  redis.call('ZADD', keys[4], -from_new, from, -to_new, to)
  local id = redis.call('XADD', keys[5], '*', 'type', 'transfer', 'from', from, 'to', to, 'amount', argv[3])
  redis.call('PUBLISH', keys[1] .. ':transfers', id)
  return { id, from_text, to_text }
end

redis.register_function('floor_transfer', floor_transfer)
