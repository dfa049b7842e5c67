-- ledger_top: the largest holders, exactly ordered.
--
-- KEYS[1]  token:{SYM}
-- ARGV     limit (1..1000)
-- Reply    flat array account, balance, ... by balance descending, ties by account ascending;
--          exact for all amounts (doubles rank only balances below 2^53, where they are
--          exact). Cost O(log N + limit).
-- Errors   INVALID_TOKEN, INVALID_ARGUMENT, TOKEN_NOT_FOUND

local function ledger_top(keys, argv)
  local sym = token_symbol(keys)
  check_arg_count(argv, 1, 1)
  local limit = check_limit(argv[1], 'limit', TOP_LIMIT_MAX)
  local k = token_keys(sym)
  require_token(k, sym)
  -- Holders at or above 2^53 first (lex rank: only the account is cut out of each member), then
  -- the others (score rank); the balances come exact from the hash in one HMGET.
  local members = redis.call('ZRANGE', k.rank, '-', '+', 'BYLEX', 'LIMIT', 0, limit)
  local accounts = {}
  for i = 1, #members do
    accounts[i] = rank_account(members[i])
  end
  if #accounts < limit then
    local small = redis.call('ZRANGE', k.rank_small, 0, limit - #accounts - 1)
    for i = 1, #small do accounts[#accounts + 1] = small[i] end
  end
  if #accounts == 0 then return {} end
  local balances = redis.call('HMGET', k.balances, unpack(accounts))
  local reply = {}
  for i = 1, #accounts do
    reply[2 * i - 1] = accounts[i]
    reply[2 * i] = balances[i]
  end
  return reply
end

register('ledger_top', ledger_top, { 'no-writes' })
