-- ledger_info: the token hash plus `holders`.
--
-- KEYS[1]  token:{SYM}
-- ARGV     none
-- Reply    flat array of field, value: name, symbol, decimals, totalSupply, circulatingSupply,
--          treasury, createdAt, opTtlSeconds, holders (count of accounts with a non-zero balance)
-- Errors   INVALID_TOKEN, INVALID_ARGUMENT, TOKEN_NOT_FOUND

local function ledger_info(keys, argv)
  local sym = token_symbol(keys)
  check_arg_count(argv, 0, 0)
  local k = token_keys(sym)
  local fields = redis.call('HGETALL', k.token)
  if #fields == 0 then
    fail('TOKEN_NOT_FOUND', 'token ' .. sym .. ' does not exist')
  end
  fields[#fields + 1] = 'holders'
  fields[#fields + 1] = tostring(redis.call('HLEN', k.balances))
  return fields
end

register('ledger_info', ledger_info, { 'no-writes' })
