-- ledger_top: the largest holders, exactly ordered.
--
-- KEYS     the declared form (docs/ledger-functions.md, Keys): token:{SYM}, :balances, :rank,
--          :rank:small, :log; or token:{SYM} alone on standalone Redis
-- ARGV     limit (1..1000)
-- Reply    flat array account, balance, ... by balance descending, ties by account ascending;
--          exact for all amounts (doubles rank only balances below 2^53, where they are
--          exact). Cost O(log N + limit).
-- Errors   INVALID_TOKEN, INVALID_ARGUMENT, TOKEN_NOT_FOUND

-- Holders of a token that still has library 1.0 members in `rank` (see Holder ranking): both
-- sets hold small balances, so their first `limit` holders are merged by balance, then account.
local function merged_top(k, limit)
  local lex = redis.call('ZRANGE', k.rank, '-', '+', 'BYLEX', 'LIMIT', 0, limit)
  local small = redis.call('ZRANGE', k.rank_small, 0, limit - 1)
  -- The small set's balances from the hash: a score read back as text is not a contract.
  local small_balances = #small > 0 and redis.call('HMGET', k.balances, unpack(small)) or {}
  local accounts, i, j = {}, 1, 1
  while #accounts < limit and (i <= #lex or j <= #small) do
    local take_lex = j > #small
    if not take_lex and i <= #lex then
      local order = compare(rank_balance(lex[i]), small_balances[j] or '0')
      take_lex = order > 0 or (order == 0 and rank_account(lex[i]) < small[j])
    end
    if take_lex then
      accounts[#accounts + 1] = rank_account(lex[i])
      i = i + 1
    else
      accounts[#accounts + 1] = small[j]
      j = j + 1
    end
  end
  return accounts
end

local function ledger_top(keys, argv)
  local k = declared_keys(keys, false)
  check_arg_count(argv, 1, 1)
  local limit = check_limit(argv[1], 'limit', TOP_LIMIT_MAX)
  require_token(k)
  local accounts = {}
  if k.legacy_rank then
    accounts = merged_top(k, limit)
  else
    -- Holders at or above 2^53 first (lex rank: only the account is cut out of each member),
    -- then the others (score rank).
    local members = redis.call('ZRANGE', k.rank, '-', '+', 'BYLEX', 'LIMIT', 0, limit)
    for i = 1, #members do
      accounts[i] = rank_account(members[i])
    end
    if #accounts < limit then
      local small = redis.call('ZRANGE', k.rank_small, 0, limit - #accounts - 1)
      for i = 1, #small do accounts[#accounts + 1] = small[i] end
    end
  end
  if #accounts == 0 then return {} end
  -- The balances come exact from the hash in one HMGET.
  local balances = redis.call('HMGET', k.balances, unpack(accounts))
  local reply = {}
  for i = 1, #accounts do
    reply[2 * i - 1] = accounts[i]
    reply[2 * i] = balances[i]
  end
  return reply
end

register('ledger_top', ledger_top, { 'no-writes' })
