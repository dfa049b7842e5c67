-- ledger_supply: total and circulating supply.
--
-- KEYS[1]  token:{SYM}
-- ARGV     none
-- Reply    [totalSupply, circulatingSupply]
-- Errors   INVALID_TOKEN, INVALID_ARGUMENT, TOKEN_NOT_FOUND

local function ledger_supply(keys, argv)
  local sym = token_symbol(keys)
  check_arg_count(argv, 0, 0)
  local k = token_keys(sym)
  local supply = redis.call('HMGET', k.token, 'totalSupply', 'circulatingSupply')
  if not supply[1] then
    fail('TOKEN_NOT_FOUND', 'token ' .. sym .. ' does not exist')
  end
  return supply
end

register('ledger_supply', ledger_supply, { 'no-writes' })
