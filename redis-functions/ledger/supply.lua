-- ledger_supply: total and circulating supply.
--
-- KEYS     the declared form (docs/ledger-functions.md, Keys): token:{SYM}, :balances, :rank,
--          :rank:small, :log; or token:{SYM} alone on standalone Redis
-- ARGV     none
-- Reply    [totalSupply, circulatingSupply]
-- Errors   INVALID_TOKEN, INVALID_ARGUMENT, TOKEN_NOT_FOUND

local function ledger_supply(keys, argv)
  local k = declared_keys(keys, false)
  local sym = k.sym
  check_arg_count(argv, 0, 0)
  local supply = redis.call('HMGET', k.token, 'totalSupply', 'circulatingSupply')
  if not supply[1] then
    fail('TOKEN_NOT_FOUND', 'token ' .. sym .. ' does not exist')
  end
  return supply
end

register('ledger_supply', ledger_supply, { 'no-writes' })
