-- ledger_info: the token hash plus `holders`.
--
-- KEYS     the declared form (docs/ledger-functions.md, Keys): token:{SYM}, :balances, :rank,
--          :rank:small, :log; or token:{SYM} alone on standalone Redis
-- ARGV     none
-- Reply    flat array of field, value: name, symbol, decimals, totalSupply, circulatingSupply,
--          treasury, createdAt, opTtlSeconds, holders (count of accounts with a non-zero balance)
-- Errors   INVALID_TOKEN, INVALID_ARGUMENT, TOKEN_NOT_FOUND

local function ledger_info(keys, argv)
  local k = declared_keys(keys, false)
  local sym = k.sym
  check_arg_count(argv, 0, 0)
  local hash = redis.call('HGETALL', k.token)
  if #hash == 0 then
    fail('TOKEN_NOT_FOUND', 'token ' .. sym .. ' does not exist')
  end
  -- rankLayout is the library's own bookkeeping (see Holder ranking), not part of the reply.
  local fields = {}
  for i = 1, #hash, 2 do
    if hash[i] ~= 'rankLayout' then
      fields[#fields + 1] = hash[i]
      fields[#fields + 1] = hash[i + 1]
    end
  end
  fields[#fields + 1] = 'holders'
  fields[#fields + 1] = tostring(redis.call('HLEN', k.balances))
  return fields
end

register('ledger_info', ledger_info, { 'no-writes' })
