-- ledger_top: the largest holders, exactly ordered.
--
-- KEYS[1]  token:{SYM}
-- ARGV     limit (1..1000)
-- Reply    flat array account, balance, ... by balance descending, ties by account ascending;
--          exact for all amounts (the rank never uses doubles). Cost O(log N + limit).
-- Errors   INVALID_TOKEN, INVALID_ARGUMENT, TOKEN_NOT_FOUND

local function ledger_top(keys, argv)
  local sym = token_symbol(keys)
  check_arg_count(argv, 1, 1)
  local limit = check_limit(argv[1], 'limit', TOP_LIMIT_MAX)
  local k = token_keys(sym)
  require_token(k, sym)
  local members = redis.call('ZRANGE', k.rank, '-', '+', 'BYLEX', 'LIMIT', 0, limit)
  local reply = {}
  for i = 1, #members do
    local account, balance = rank_decode(members[i])
    reply[#reply + 1] = account
    reply[#reply + 1] = balance
  end
  return reply
end

register('ledger_top', ledger_top, { 'no-writes' })
